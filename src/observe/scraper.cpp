#include "observe/scraper.hpp"

#include <chrono>
#include <exception>
#include <stdexcept>

#include <fmt/format.h>

namespace splleed::observe {

FetchResult FetchResult::success(std::string body, std::string content_type) {
  FetchResult r;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

FetchResult FetchResult::failure(std::string message) {
  FetchResult r;
  r.error = message.empty() ? std::string("fetch failed") : std::move(message);
  return r;
}

Scraper::Scraper(MetricsSource& source, const Clock& clock, SeriesStore& store, ScraperOptions options)
    : source_(source), clock_(clock), store_(store), options_(std::move(options)) {
  if (options_.interval < kMinScrapeInterval) {
    throw std::invalid_argument(fmt::format("scrape interval {} ms is below the minimum of {} ms",
                                            to_ms(options_.interval), to_ms(kMinScrapeInterval)));
  }
}

Scraper::~Scraper() { stop(); }

ScrapeRecord Scraper::scrape_once() {
  ScrapeRecord rec;
  rec.begin = clock_.now();
  FetchResult fetched;
  try {
    fetched = source_.fetch();
  } catch (const std::exception& e) {
    fetched = FetchResult::failure(fmt::format("fetch threw: {}", e.what()));
  } catch (...) {
    fetched = FetchResult::failure("fetch threw an unknown exception");
  }
  rec.end = clock_.now();
  rec.stamp = rec.begin + (rec.end - rec.begin) / 2;

  std::string failure;
  std::vector<ParseError> errors;
  if (!fetched.ok()) {
    failure = std::move(fetched.error);
  } else {
    std::optional<Format> format = options_.format;
    if (!format && !fetched.content_type.empty()) format = format_from_content_type(fetched.content_type);
    Exposition e = parse_exposition(fetched.body, format);
    rec.samples = e.sample_count();
    rec.parse_errors = e.errors.size();
    errors = std::move(e.errors);
    if (rec.samples == 0 && !errors.empty()) {
      failure = "no sample parsed; first error: " + errors.front().to_string();
    } else if (!store_.append(rec.stamp, e)) {
      failure = "clock went backwards; scrape dropped";
    } else {
      rec.ok = true;
    }
  }

  const std::lock_guard lock(mu_);
  history_.push_back(rec);
  if (!rec.ok) failures_.push_back(ScrapeFailure{rec.begin, rec.end, std::move(failure)});
  parse_error_count_ += errors.size();
  for (ParseError& err : errors) {
    if (options_.kept_parse_errors == 0) break;
    if (parse_errors_.size() >= options_.kept_parse_errors) parse_errors_.erase(parse_errors_.begin());
    parse_errors_.push_back(std::move(err));
  }
  return rec;
}

void Scraper::start() {
  const std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Scraper::stop() {
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Scraper::wait_until(Nanos deadline) {
  if (options_.wait) {
    {
      const std::lock_guard lock(mu_);
      if (stop_) return false;
    }
    return options_.wait(deadline);
  }
  std::unique_lock lock(mu_);
  const Nanos remaining = deadline - clock_.now();
  if (remaining > 0) cv_.wait_for(lock, std::chrono::nanoseconds(remaining), [this] { return stop_; });
  return !stop_;
}

void Scraper::loop() {
  const Nanos interval = options_.interval;
  Nanos next = clock_.now();
  while (true) {
    {
      const std::lock_guard lock(mu_);
      if (stop_) return;
    }
    scrape_once();
    next += interval;
    const Nanos now = clock_.now();
    if (next <= now) next += ((now - next) / interval + 1) * interval;  // skip overrun ticks
    if (!wait_until(next)) return;
  }
}

std::vector<ScrapeRecord> Scraper::history() const {
  const std::lock_guard lock(mu_);
  return history_;
}

std::vector<ScrapeFailure> Scraper::failures() const {
  const std::lock_guard lock(mu_);
  return failures_;
}

std::vector<ParseError> Scraper::recent_parse_errors() const {
  const std::lock_guard lock(mu_);
  return parse_errors_;
}

std::size_t Scraper::parse_error_count() const {
  const std::lock_guard lock(mu_);
  return parse_error_count_;
}

}  // namespace splleed::observe
