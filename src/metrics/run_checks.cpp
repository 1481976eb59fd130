#include "metrics/run_checks.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "metrics/request_metrics.hpp"
#include "stats/summary.hpp"

namespace splleed::metrics {

namespace {

std::int64_t counted_output(const RequestRecord& r) {
  std::int64_t n = 0;
  for (const TokenEvent& e : r.tokens) n += e.tokens;
  return n;
}

}  // namespace

bool checked(const RequestRecord& r) noexcept {
  return r.status == RequestStatus::ok && !r.warmup && !r.ramp_up;
}

std::optional<OutputLengthCheck> check_output_length(const std::vector<RequestRecord>& records) {
  OutputLengthCheck c;
  for (const RequestRecord& r : records) {
    if (!checked(r) || !r.exact_output_tokens) continue;
    ++c.checked;
    const std::int64_t produced = r.output_tokens();
    const std::int32_t requested = *r.exact_output_tokens;
    if (produced == requested) {
      ++c.exact;
      continue;
    }
    ++(produced < requested ? c.shorter : c.longer);
    if (c.examples.size() < kCheckExamples) c.examples.push_back({r.index, requested, produced});
  }
  if (c.checked == 0) return std::nullopt;
  return c;
}

std::vector<TurnSummary> summarize_by_turn(const std::vector<RequestRecord>& records) {
  struct Group {
    std::vector<double> ttft_ms;
    std::int64_t requests = 0;
    double input_sum = 0;
    std::int64_t input_n = 0;
  };
  std::map<std::int32_t, Group> groups;
  for (const RequestRecord& r : records) {
    if (!checked(r) || !r.turn) continue;
    Group& g = groups[*r.turn];
    ++g.requests;
    if (r.dispatched && r.first_token)
      g.ttft_ms.push_back(static_cast<double>(*r.first_token - *r.dispatched) /
                          static_cast<double>(kNanosPerMilli));
    if (const auto input = r.usage.prompt_tokens ? r.usage.prompt_tokens : r.client_prompt_tokens) {
      g.input_sum += static_cast<double>(*input);
      ++g.input_n;
    }
  }
  std::vector<TurnSummary> out;
  out.reserve(groups.size());
  for (auto& [turn, g] : groups) {
    TurnSummary t;
    t.turn = turn;
    t.requests = g.requests;
    if (!g.ttft_ms.empty()) {
      const MetricSummary s = stats::summarize(g.ttft_ms);
      t.ttft_mean_ms = s.mean;
      t.ttft_p50_ms = s.p50;
      t.ttft_p90_ms = s.p90;
      t.ttft_p99_ms = s.p99;
    }
    if (g.input_n > 0) t.input_tokens_mean = g.input_sum / static_cast<double>(g.input_n);
    out.push_back(t);
  }
  return out;
}

bool prompt_counts_disagree(std::int64_t client, std::int64_t server) noexcept {
  return std::llabs(server - client) > std::max<std::int64_t>(8, client / 20);
}

bool output_counts_disagree(std::int64_t counted, std::int64_t server) noexcept {
  return std::llabs(server - counted) > std::max<std::int64_t>(1, server / 20);
}

std::vector<std::string> token_count_disagreements(const RequestRecord& r) {
  std::vector<std::string> out;
  if (r.client_prompt_tokens && r.usage.prompt_tokens &&
      prompt_counts_disagree(*r.client_prompt_tokens, *r.usage.prompt_tokens))
    out.emplace_back("prompt");
  if (r.usage.completion_tokens && !r.tokens.empty() &&
      output_counts_disagree(counted_output(r), *r.usage.completion_tokens))
    out.emplace_back("output");
  return out;
}

TokenCountCheck check_token_counts(const std::vector<RequestRecord>& records) {
  TokenCountCheck c;
  std::int64_t from_usage = 0, from_events = 0;
  for (const RequestRecord& r : records) {
    if (!checked(r)) continue;
    ++(r.output_tokens_from_usage() ? from_usage : from_events);
    if (r.client_prompt_tokens && r.usage.prompt_tokens) {
      ++c.prompt_compared;
      if (prompt_counts_disagree(*r.client_prompt_tokens, *r.usage.prompt_tokens)) {
        ++c.prompt_disagree;
        if (c.examples.size() < kCheckExamples)
          c.examples.push_back({r.index, "prompt", *r.client_prompt_tokens, *r.usage.prompt_tokens});
      }
    }
    if (r.usage.completion_tokens && !r.tokens.empty()) {
      ++c.output_compared;
      const std::int64_t counted = counted_output(r);
      if (output_counts_disagree(counted, *r.usage.completion_tokens)) {
        ++c.output_disagree;
        if (c.examples.size() < kCheckExamples)
          c.examples.push_back({r.index, "output", counted, *r.usage.completion_tokens});
      }
    }
  }
  if (from_usage > 0 && from_events > 0)
    c.tpot_source = "mixed";
  else if (from_usage > 0)
    c.tpot_source = "usage";
  else if (from_events > 0)
    c.tpot_source = "events";
  return c;
}

void check_run(RunResult& run) {
  run.output_length = check_output_length(run.requests);
  run.by_turn = summarize_by_turn(run.requests);
  run.token_counts = check_token_counts(run.requests);
}

}  // namespace splleed::metrics
