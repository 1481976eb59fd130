// Scraper: clock stamping, failures recorded without stopping, parse errors kept, the fixed tick
// grid, and the thread loop driven by an injected wait (no sleeps).
#include <deque>
#include <future>
#include <stdexcept>

#include <gtest/gtest.h>

#include "observe/scraper.hpp"
#include "observe_test_util.hpp"

namespace splleed::observe::test {
namespace {

constexpr Nanos kMs = kNanosPerMilli;
constexpr Nanos kS = kNanosPerSecond;

// Replays scripted results; each fetch takes `fetch_time` on the fake clock.
class ScriptedSource final : public MetricsSource {
 public:
  ScriptedSource(FakeClock& clock, Nanos fetch_time) : clock_(clock), fetch_time_(fetch_time) {}
  void push(FetchResult r) { script_.push_back(std::move(r)); }
  void push_throw() { script_.push_back(FetchResult::failure("__throw__")); }
  int fetches = 0;

  FetchResult fetch() override {
    ++fetches;
    clock_.advance(fetch_time_);
    if (script_.empty()) return FetchResult::success("up 1\n");
    FetchResult r = std::move(script_.front());
    script_.pop_front();
    if (r.error == "__throw__") throw std::runtime_error("connection reset");
    return r;
  }

 private:
  FakeClock& clock_;
  Nanos fetch_time_;
  std::deque<FetchResult> script_;
};

TEST(Scraper, StampsSamplesAtTheMidpointOfTheFetch) {
  FakeClock clock(10 * kS);
  ScriptedSource src(clock, 40 * kMs);
  SeriesStore store;
  Scraper s(src, clock, store);
  src.push(FetchResult::success("# TYPE q gauge\nq 7\n"));
  const ScrapeRecord r = s.scrape_once();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.begin, 10 * kS);
  EXPECT_EQ(r.end, 10 * kS + 40 * kMs);
  EXPECT_EQ(r.stamp, 10 * kS + 20 * kMs);
  EXPECT_EQ(r.samples, 1u);
  const auto q = store.find("q");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->points.at(0).t, 10 * kS + 20 * kMs);
  EXPECT_DOUBLE_EQ(q->points.at(0).v, 7);
}

TEST(Scraper, FailedScrapesAreRecordedAndScrapingGoesOn) {
  FakeClock clock;
  ScriptedSource src(clock, 5 * kMs);
  SeriesStore store;
  Scraper s(src, clock, store);
  src.push(FetchResult::success("a 1\n"));
  src.push(FetchResult::failure("HTTP 503: loading model"));
  src.push_throw();
  src.push(FetchResult::success("a 2\n"));
  for (int i = 0; i < 4; ++i) {
    s.scrape_once();
    clock.advance(kS);
  }
  const auto f = s.failures();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].message, "HTTP 503: loading model");
  EXPECT_EQ(f[0].begin, 1 * kS + 5 * kMs);
  EXPECT_EQ(f[1].message, "fetch threw: connection reset");
  EXPECT_EQ(s.history().size(), 4u);
  EXPECT_EQ(store.scrape_times().size(), 2u);
  EXPECT_EQ(store.find("a")->points.size(), 2u);
}

TEST(Scraper, MalformedLinesAreKeptAsErrorsAndTheRestStored) {
  FakeClock clock;
  ScriptedSource src(clock, kMs);
  SeriesStore store;
  ScraperOptions opt;
  opt.kept_parse_errors = 2;
  Scraper s(src, clock, store, opt);
  src.push(FetchResult::success("good 1\nbad one\nworse{ 2\nalso_bad x\n"));
  const ScrapeRecord r = s.scrape_once();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.samples, 1u);
  EXPECT_EQ(r.parse_errors, 3u);
  EXPECT_EQ(s.parse_error_count(), 3u);
  const auto kept = s.recent_parse_errors();
  ASSERT_EQ(kept.size(), 2u);  // the most recent ones
  EXPECT_EQ(kept[1].line_number, 4u);
  EXPECT_TRUE(store.has("good"));
  EXPECT_TRUE(s.failures().empty());
}

TEST(Scraper, ABodyWithNoSampleIsAFailedScrape) {
  FakeClock clock;
  ScriptedSource src(clock, kMs);
  SeriesStore store;
  Scraper s(src, clock, store);
  src.push(FetchResult::success("<html>502 Bad Gateway</html>\n"));
  EXPECT_FALSE(s.scrape_once().ok);
  ASSERT_EQ(s.failures().size(), 1u);
  EXPECT_NE(s.failures()[0].message.find("no sample parsed"), std::string::npos);
  EXPECT_NE(s.failures()[0].message.find("line 1"), std::string::npos);
}

TEST(Scraper, OpenMetricsContentTypeSelectsTheFormat) {
  FakeClock clock;
  ScriptedSource src(clock, kMs);
  SeriesStore store;
  Scraper s(src, clock, store);
  src.push(FetchResult::success("# TYPE c counter\nc_total 4 1741133661.5\n# EOF\n",
                                "application/openmetrics-text; version=1.0.0; charset=utf-8"));
  EXPECT_TRUE(s.scrape_once().ok);
  EXPECT_EQ(s.parse_error_count(), 0u);
  EXPECT_EQ(store.find("c_total")->type, MetricType::counter);
}

TEST(Scraper, IntervalBelowTheMinimumIsRefused) {
  FakeClock clock;
  ScriptedSource src(clock, kMs);
  SeriesStore store;
  ScraperOptions opt;
  opt.interval = 99 * kMs;
  EXPECT_THROW(Scraper(src, clock, store, opt).interval(), std::invalid_argument);
  opt.interval = kMinScrapeInterval;
  EXPECT_EQ(Scraper(src, clock, store, opt).interval(), kMinScrapeInterval);
  EXPECT_EQ(ScraperOptions{}.interval, kS);
}

// The loop on its own thread, with waiting injected: the wait jumps the fake clock to each
// deadline and ends the loop after a fixed number of ticks.
struct SteppedWait {
  FakeClock& clock;
  int ticks;
  std::vector<Nanos> deadlines;
  std::promise<void> finished;

  bool operator()(Nanos deadline) {
    deadlines.push_back(deadline);
    clock.set(deadline);
    if (static_cast<int>(deadlines.size()) < ticks) return true;
    finished.set_value();
    return false;
  }
};

TEST(ScraperThread, ScrapesOnAFixedGrid) {
  FakeClock clock(0);
  ScriptedSource src(clock, 30 * kMs);
  SeriesStore store;
  SteppedWait w{clock, 5, {}, {}};
  std::future<void> done = w.finished.get_future();
  ScraperOptions opt;
  opt.wait = [&w](Nanos d) { return w(d); };
  Scraper s(src, clock, store, opt);
  s.start();
  done.wait();
  s.stop();
  EXPECT_EQ(w.deadlines, (std::vector<Nanos>{1 * kS, 2 * kS, 3 * kS, 4 * kS, 5 * kS}));
  EXPECT_EQ(src.fetches, 5);
  const auto times = store.scrape_times();
  ASSERT_EQ(times.size(), 5u);
  for (std::size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(times[i], static_cast<Nanos>(i) * kS + 15 * kMs);
  }
}

TEST(ScraperThread, AFetchSlowerThanTheIntervalSkipsTheTicksItOverran) {
  FakeClock clock(0);
  ScriptedSource src(clock, 2500 * kMs);
  SeriesStore store;
  SteppedWait w{clock, 3, {}, {}};
  std::future<void> done = w.finished.get_future();
  ScraperOptions opt;
  opt.wait = [&w](Nanos d) { return w(d); };
  Scraper s(src, clock, store, opt);
  s.start();
  done.wait();
  s.stop();
  EXPECT_EQ(w.deadlines, (std::vector<Nanos>{3 * kS, 6 * kS, 9 * kS}));
}

// Counts down a latch on the first fetch so the test knows the thread is inside its loop.
class SignallingSource final : public MetricsSource {
 public:
  std::promise<void> first;
  int fetches = 0;
  FetchResult fetch() override {
    if (++fetches == 1) first.set_value();
    return FetchResult::success("up 1\n");
  }
};

TEST(ScraperThread, StopWakesTheDefaultWaitWithoutWaitingOutTheInterval) {
  MonotonicClock clock;
  SignallingSource src;
  std::future<void> started = src.first.get_future();
  SeriesStore store;
  ScraperOptions opt;
  opt.interval = 3600 * kS;  // if stop() did not wake the wait, the test would hang here
  Scraper s(src, clock, store, opt);
  s.start();
  s.start();  // already running: no second thread
  started.wait();
  s.stop();
  s.stop();  // idempotent
  EXPECT_EQ(src.fetches, 1);
  EXPECT_EQ(s.history().size(), 1u);
  EXPECT_TRUE(store.has("up"));
}

TEST(ScraperThread, DestructorStopsTheThread) {
  MonotonicClock clock;
  SignallingSource src;
  std::future<void> started = src.first.get_future();
  SeriesStore store;
  ScraperOptions opt;
  opt.interval = 3600 * kS;
  {
    Scraper s(src, clock, store, opt);
    s.start();
    started.wait();
  }
  EXPECT_EQ(src.fetches, 1);
}

}  // namespace
}  // namespace splleed::observe::test
