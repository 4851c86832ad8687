// SPDX-License-Identifier: MIT
#include "Output.h"

#include <unistd.h>

#include <ctime>
#include <iostream>

#include "common/RelPath.h"

namespace hoard::cli {

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

void putPath(nlohmann::json& into, const std::string& key, const std::string& path) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : path) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xF]);
  }
  into[key] = displayPath(path);
  into[key + "_hex"] = hex;
}

std::string timeText(int64_t ns) {
  if (ns == 0) return "never";
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

namespace {
bool g_bar_shown = false;
}

void showProgress(const std::string& what, uint64_t bytes_done, uint64_t bytes_total,
                  uint32_t files_done, uint32_t files_total) {
  if (isatty(STDERR_FILENO)) {
    constexpr int kWidth = 30;
    int filled = bytes_total == 0 ? kWidth
                                  : static_cast<int>(kWidth * bytes_done / bytes_total);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, ' ');
    std::cerr << "\r" << what << " [" << bar << "] " << files_done << "/" << files_total
              << " files, " << bytes_done << "/" << bytes_total << " bytes" << std::flush;
    g_bar_shown = true;
  } else {
    std::cerr << what << ": " << files_done << "/" << files_total << " files, " << bytes_done
              << "/" << bytes_total << " bytes\n";
  }
}

void endProgress() {
  if (g_bar_shown) std::cerr << "\n";
  g_bar_shown = false;
}

}  // namespace hoard::cli
