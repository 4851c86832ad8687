// SPDX-License-Identifier: MIT
// The FedWatcher carries the on-demand view's changes to the tracker: every
// batch queued since the last read comes in one, in order; nothing before
// start or after stop; a bound turns a flood into one overflow; and the
// generation tells a pusher whether its event still waits unread.

#include "track/FedWatcher.h"

#include <gtest/gtest.h>

#include <thread>

#include "track/CollectingSink.h"
#include "track/FakeWatcher.h"
#include "track/Tracker.h"

namespace hoard::track {
namespace {

using namespace std::chrono_literals;

TEST(FedWatcherTest, OneReadTakesEveryQueuedBatchInOrder) {
  FedWatcher w;
  ASSERT_TRUE(w.start("/backing", {}));
  EXPECT_TRUE(w.push({FakeWatcher::created("a", FileType::kFile)}));
  EXPECT_TRUE(w.push({FakeWatcher::movedFrom("a", 7), FakeWatcher::movedTo("b", 7)}));
  EXPECT_TRUE(w.push({FakeWatcher::deleted("b")}));
  auto got = w.readEvents(0ms);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].path, "a");
  EXPECT_EQ((*got)[1].kind, WatchEventKind::kMovedFrom);
  EXPECT_EQ((*got)[2].kind, WatchEventKind::kMovedTo);
  EXPECT_EQ((*got)[3].kind, WatchEventKind::kDeleted);
  EXPECT_TRUE(w.readEvents(0ms)->empty());
  EXPECT_EQ(w.watchCount(), 0u) << "no kernel watches";
}

TEST(FedWatcherTest, EventsBeforeStartOrAfterStopAreDropped) {
  FedWatcher w;
  EXPECT_FALSE(w.push({FakeWatcher::modified("early")}));
  ASSERT_TRUE(w.start("/backing", {}));
  EXPECT_TRUE(w.push({FakeWatcher::modified("queued")}));
  w.stop();
  EXPECT_FALSE(w.push({FakeWatcher::modified("late")}));
  EXPECT_EQ(w.readEvents(0ms).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(w.queuedBatches(), 0u) << "stop() frees what waited";
}

TEST(FedWatcherTest, AFloodBeyondTheBoundBecomesOneOverflowAndTheTrackerRescansAll) {
  FedWatcher w(FedWatcher::Batching::kAllQueued, /*max_queued=*/100);
  ASSERT_TRUE(w.start("/backing", {}));
  for (int i = 0; i < 150; ++i) w.push({FakeWatcher::modified("f" + std::to_string(i))});
  EXPECT_EQ(w.overflows(), 1u);
  CollectingSink sink(/*keep=*/true);
  Tracker t(w, sink);
  ASSERT_TRUE(t.pollOnce(0ms));
  // The overflow, then the 49 events pushed after it.
  EXPECT_EQ(sink.rescans(), std::vector<RelPath>{""});
  EXPECT_EQ(sink.changes().size(), 49u);
  EXPECT_EQ(sink.changes().front().path, "f101");
}

TEST(FedWatcherTest, TheGenerationMovesOnlyWhenQueuedEventsAreRead) {
  FedWatcher w;
  ASSERT_TRUE(w.start("/backing", {}));
  auto ticket = w.push({FakeWatcher::modified("f")});
  ASSERT_TRUE(ticket);
  EXPECT_EQ(w.generation(), *ticket) << "still waiting";
  ASSERT_TRUE(w.readEvents(0ms));
  EXPECT_NE(w.generation(), *ticket) << "read";
  uint64_t g = w.generation();
  ASSERT_TRUE(w.readEvents(0ms)->empty());
  EXPECT_EQ(w.generation(), g) << "an empty read takes nothing";
}

TEST(FedWatcherTest, AReadWaitingInAnotherThreadWakesForAPush) {
  FedWatcher w;
  ASSERT_TRUE(w.start("/backing", {}));
  std::thread pusher([&] {
    std::this_thread::sleep_for(50ms);
    w.push({FakeWatcher::modified("f")});
  });
  auto got = w.readEvents(10s);
  pusher.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 1u);
}

TEST(FedWatcherTest, TheExcludeFilterDropsNamesAsTheKernelWatcherWould) {
  FedWatcher w;
  WatchOptions o;
  o.exclude = [](std::string_view name) { return name == ".hoard"; };
  ASSERT_TRUE(w.start("/backing", o));
  w.push({FakeWatcher::modified(".hoard"), FakeWatcher::modified("kept")});
  auto got = w.readEvents(0ms);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].path, "kept");
}

}  // namespace
}  // namespace hoard::track
