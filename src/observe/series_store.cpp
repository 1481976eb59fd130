#include "observe/series_store.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace splleed::observe {

std::string series_key(std::string_view name, const Labels& labels) {
  std::string key(name);
  if (labels.empty()) return key;
  key += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += ',';
    key += labels[i].name;
    key += "=\"";
    for (const char c : labels[i].value) {
      if (c == '\\' || c == '"') {
        key += '\\';
        key += c;
      } else if (c == '\n') {
        key += "\\n";
      } else {
        key += c;
      }
    }
    key += '"';
  }
  key += '}';
  return key;
}

bool labels_match(const Labels& labels, const Labels& match) noexcept {
  return std::all_of(match.begin(), match.end(), [&](const Label& m) {
    const std::string* v = find_label(labels, m.name);
    return v != nullptr && *v == m.value;
  });
}

SeriesStore::SeriesStore(SeriesStore&& other) noexcept {
  const std::lock_guard lock(other.mu_);
  scrapes_ = std::move(other.scrapes_);
  series_ = std::move(other.series_);
  by_name_ = std::move(other.by_name_);
  other.scrapes_.clear();
  other.series_.clear();
  other.by_name_.clear();
}

SeriesStore& SeriesStore::operator=(SeriesStore&& other) noexcept {
  if (this != &other) {
    const std::scoped_lock lock(mu_, other.mu_);
    scrapes_ = std::move(other.scrapes_);
    series_ = std::move(other.series_);
    by_name_ = std::move(other.by_name_);
    other.scrapes_.clear();
    other.series_.clear();
    other.by_name_.clear();
  }
  return *this;
}

bool SeriesStore::append(Nanos t, const Exposition& e) {
  // Keys are built outside the lock; the lock only covers the inserts.
  struct Row {
    std::string key;
    const Sample* sample;
    MetricType type;
  };
  std::vector<Row> rows;
  rows.reserve(e.sample_count());
  for (const MetricFamily& f : e.families) {
    for (const Sample& s : f.samples) rows.push_back(Row{series_key(s.name, s.labels), &s, f.type});
  }
  const std::lock_guard lock(mu_);
  if (!scrapes_.empty() && t < scrapes_.back()) return false;
  scrapes_.push_back(t);
  for (Row& r : rows) {
    auto it = series_.find(r.key);
    if (it == series_.end()) {
      Series s{r.sample->name, r.sample->labels, r.type, {}};
      by_name_[r.sample->name].push_back(r.key);
      it = series_.emplace(std::move(r.key), std::move(s)).first;
    }
    std::vector<Point>& pts = it->second.points;
    // Two samples of one series in one scrape: the later one wins.
    if (!pts.empty() && pts.back().t == t) {
      pts.back().v = r.sample->value;
    } else {
      pts.push_back(Point{t, r.sample->value});
    }
  }
  return true;
}

std::vector<Nanos> SeriesStore::scrape_times() const {
  const std::lock_guard lock(mu_);
  return scrapes_;
}

std::size_t SeriesStore::series_count() const {
  const std::lock_guard lock(mu_);
  return series_.size();
}

std::vector<std::string> SeriesStore::names() const {
  const std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [name, keys] : by_name_) out.push_back(name);
  return out;
}

bool SeriesStore::has(std::string_view name) const {
  const std::lock_guard lock(mu_);
  return by_name_.find(name) != by_name_.end();
}

std::vector<Series> SeriesStore::select(std::string_view name, const Labels& match) const {
  const std::lock_guard lock(mu_);
  std::vector<Series> out;
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) return out;
  for (const std::string& key : it->second) {
    const Series& s = series_.find(key)->second;
    if (labels_match(s.labels, match)) out.push_back(s);
  }
  return out;
}

std::optional<Series> SeriesStore::find(std::string_view key) const {
  const std::lock_guard lock(mu_);
  const auto it = series_.find(key);
  if (it == series_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> value_at(const Series& s, Nanos t) noexcept {
  const auto it = std::upper_bound(s.points.begin(), s.points.end(), t,
                                   [](Nanos x, const Point& p) { return x < p.t; });
  if (it == s.points.begin()) return std::nullopt;
  return std::prev(it)->v;
}

std::optional<double> CounterDelta::rate() const noexcept {
  if (to <= from) return std::nullopt;
  return delta / seconds();
}

std::optional<CounterDelta> counter_delta(const Series& s, Nanos t0, Nanos t1) noexcept {
  const auto& p = s.points;
  if (p.empty() || t1 < t0) return std::nullopt;
  const auto after = [&](Nanos t) {
    return static_cast<std::size_t>(
        std::upper_bound(p.begin(), p.end(), t, [](Nanos x, const Point& q) { return x < q.t; }) - p.begin());
  };
  const std::size_t a0 = after(t0);
  const std::size_t first = a0 == 0 ? 0 : a0 - 1;
  const std::size_t a1 = after(t1);
  if (a1 == 0) return std::nullopt;
  const std::size_t last = a1 - 1;
  if (last <= first) return std::nullopt;
  CounterDelta d;
  d.from = p[first].t;
  d.to = p[last].t;
  for (std::size_t i = first + 1; i <= last; ++i) {
    const double prev = p[i - 1].v;
    const double cur = p[i].v;
    if (cur >= prev) {
      d.delta += cur - prev;
    } else {
      d.delta += cur;  // the counter restarted from zero since the previous scrape
      ++d.resets;
    }
  }
  return d;
}

std::optional<CounterDelta> counter_delta(const std::vector<Series>& all, Nanos t0, Nanos t1) noexcept {
  std::optional<CounterDelta> out;
  for (const Series& s : all) {
    const auto d = counter_delta(s, t0, t1);
    if (!d) continue;
    if (!out) {
      out = d;
      continue;
    }
    out->delta += d->delta;
    out->resets += d->resets;
    out->from = std::min(out->from, d->from);
    out->to = std::max(out->to, d->to);
  }
  return out;
}

std::optional<double> HistogramWindow::mean() const noexcept {
  if (count <= 0) return std::nullopt;
  return sum / count;
}

double HistogramWindow::quantile(double q) const noexcept { return histogram_quantile(q, buckets); }

double histogram_quantile(double q, std::vector<Bucket> b) noexcept {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.le < y.le; });
  if (b.size() < 2 || !std::isinf(b.back().le) || b.back().le < 0) return kNaN;
  // Float noise can make cumulative counts dip; Prometheus forces them monotonic.
  for (std::size_t i = 1; i < b.size(); ++i) b[i].count = std::max(b[i].count, b[i - 1].count);
  const double total = b.back().count;
  if (!(total > 0)) return kNaN;
  const double rank = q * total;
  std::size_t i = 0;
  while (i < b.size() - 1 && b[i].count < rank) ++i;
  if (i == b.size() - 1) return b[b.size() - 2].le;  // rank in the +Inf bucket
  if (i == 0 && b[0].le <= 0) return b[0].le;
  double start = 0;
  double below = 0;
  if (i > 0) {
    start = b[i - 1].le;
    below = b[i - 1].count;
  }
  const double in_bucket = b[i].count - below;
  if (in_bucket <= 0) return b[i].le;
  return start + (b[i].le - start) * ((rank - below) / in_bucket);
}

std::optional<HistogramWindow> histogram_window(const SeriesStore& store, std::string_view family,
                                                const Labels& match, Nanos t0, Nanos t1) {
  const std::string f(family);
  const std::vector<Series> buckets = store.select(f + "_bucket", match);
  std::map<double, double> per_le;
  HistogramWindow w;
  bool any = false;
  for (const Series& s : buckets) {
    const std::string* le_text = find_label(s.labels, "le");
    if (le_text == nullptr) continue;
    const auto le = parse_float(*le_text);
    if (!le || std::isnan(*le)) continue;
    const auto d = counter_delta(s, t0, t1);
    if (!d) continue;
    per_le[*le] += d->delta;
    w.from = any ? std::min(w.from, d->from) : d->from;
    w.to = any ? std::max(w.to, d->to) : d->to;
    any = true;
  }
  if (!any) return std::nullopt;
  for (const auto& [le, c] : per_le) w.buckets.push_back(Bucket{le, c});
  if (const auto s = counter_delta(store.select(f + "_sum", match), t0, t1)) w.sum = s->delta;
  if (const auto c = counter_delta(store.select(f + "_count", match), t0, t1)) {
    w.count = c->delta;
  } else if (!w.buckets.empty() && std::isinf(w.buckets.back().le)) {
    w.count = w.buckets.back().count;
  }
  return w;
}

}  // namespace splleed::observe
