// SPDX-License-Identifier: MIT
// For thread_safety_selftest.sh: a counter guarded by its mutex, read with
// the lock held, or (with -DHOARD_UNGUARDED) without it, which the analysis
// must report.
#include "common/ThreadAnnotations.h"

namespace {

class Counter {
 public:
  void add() {
    hoard::MutexLock lock(mu_);
    ++n_;
  }
  int read() {
#ifndef HOARD_UNGUARDED
    hoard::MutexLock lock(mu_);
#endif
    return n_;
  }

 private:
  hoard::Mutex mu_;
  int n_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Counter c;
  c.add();
  return c.read() == 1 ? 0 : 1;
}
