// SPDX-License-Identifier: MIT
// The FakeWatcher is what every layer's unit tests stand on: it must deliver
// batches whole and in order, honour the exclude filter and report errors.

#include "track/FakeWatcher.h"

#include <gtest/gtest.h>

#include <thread>

namespace hoard::track {
namespace {

using namespace std::chrono_literals;

TEST(FakeWatcherTest, DeliversPushedBatchesWholeAndInOrder) {
  FakeWatcher w;
  ASSERT_TRUE(w.start("/cache", {}));
  EXPECT_EQ(w.root(), "/cache");
  w.push({FakeWatcher::modified("a"), FakeWatcher::overflow()});
  w.push({FakeWatcher::watchLost("sub")});
  auto first = w.readEvents(0ms);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].kind, WatchEventKind::kModified);
  EXPECT_EQ((*first)[1].kind, WatchEventKind::kOverflow);
  auto second = w.readEvents(0ms);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].path, "sub");
  auto none = w.readEvents(0ms);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(FakeWatcherTest, ReadBeforeStartAndInjectedErrorsFail) {
  FakeWatcher w;
  EXPECT_EQ(w.readEvents(0ms).error().code(), ErrorCode::kInvalidArgument);
  w.failNextStart(Error(ErrorCode::kNoSpace, "inotify: no watches left"));
  EXPECT_EQ(w.start("/c", {}).error().code(), ErrorCode::kNoSpace);
  ASSERT_TRUE(w.start("/c", {}));
  EXPECT_EQ(w.start("/c", {}).error().code(), ErrorCode::kInvalidArgument);
  w.failNextRead(Error(ErrorCode::kIo, "read"));
  EXPECT_EQ(w.readEvents(0ms).error().code(), ErrorCode::kIo);
  EXPECT_TRUE(w.readEvents(0ms));
  w.stop();
  EXPECT_FALSE(w.started());
}

TEST(FakeWatcherTest, WakeupEndsABlockedRead) {
  FakeWatcher w;
  ASSERT_TRUE(w.start("/c", {}));
  std::thread t([&] { w.wakeup(); });
  auto r = w.readEvents(std::chrono::hours(1));
  t.join();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(FakeWatcherTest, ExcludeFilterDropsMatchingNames) {
  FakeWatcher w;
  ASSERT_TRUE(w.start("/c", {.exclude = [](std::string_view n) { return n == "skip"; }}));
  w.push({FakeWatcher::modified("a/skip"), FakeWatcher::modified("skip/a"),
          FakeWatcher::overflow()});
  auto r = w.readEvents(0ms);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].path, "skip/a");  // the filter sees names; a real watcher never enters skip/
  EXPECT_EQ((*r)[1].kind, WatchEventKind::kOverflow);
}

}  // namespace
}  // namespace hoard::track
