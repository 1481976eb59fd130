#include "protocol/llamacpp.hpp"

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace {

namespace sj = jsonutil::sj;
using jsonutil::error_code;
using jsonutil::SUCCESS;

struct LlamaCppEvent {
  std::string_view content;
  std::optional<std::int64_t> token_ids;  // length of `tokens`
  std::optional<bool> stop;
  std::string_view stop_type;
  std::optional<std::int64_t> tokens_predicted, tokens_evaluated;
  ServerTimings timings;
  bool error = false;
  std::string_view error_message;
};

error_code read_timings(sj::value& v, ServerTimings& t) noexcept {
  return jsonutil::for_each_field(v, [&t](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "prompt_ms") return jsonutil::read_double(val, t.prompt_ms);
    if (key == "predicted_ms") return jsonutil::read_double(val, t.predicted_ms);
    if (key == "prompt_n") return jsonutil::read_int(val, t.prompt_n);
    if (key == "predicted_n") return jsonutil::read_int(val, t.predicted_n);
    if (key == "cache_n") return jsonutil::read_int(val, t.cache_n);
    return SUCCESS;
  });
}

// Fields reported by this event overwrite earlier ones (per-token timings: the last one wins).
void merge(ServerTimings& into, const ServerTimings& from) noexcept {
  if (from.prompt_ms) into.prompt_ms = from.prompt_ms;
  if (from.predicted_ms) into.predicted_ms = from.predicted_ms;
  if (from.prompt_n) into.prompt_n = from.prompt_n;
  if (from.predicted_n) into.predicted_n = from.predicted_n;
  if (from.cache_n) into.cache_n = from.cache_n;
}

}  // namespace

EventOutcome LlamaCppStreamParser::on_event(std::string_view payload, Nanos received,
                                            RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  LlamaCppEvent e;
  const error_code err =
      parse_object(body, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
        if (key == "content") return jsonutil::read_string(val, e.content);
        if (key == "tokens") return jsonutil::count_elements(val, e.token_ids);
        if (key == "stop") return jsonutil::read_bool(val, e.stop);
        if (key == "stop_type") return jsonutil::read_string(val, e.stop_type);
        if (key == "tokens_predicted") return jsonutil::read_int(val, e.tokens_predicted);
        if (key == "tokens_evaluated") return jsonutil::read_int(val, e.tokens_evaluated);
        if (key == "timings") return read_timings(val, e.timings);
        if (key == "error") return jsonutil::read_error_value(val, e.error_message, e.error);
        return SUCCESS;
      });
  if (err != SUCCESS) return fail_malformed(err, body, received, rec);
  ++well_formed_;

  if (e.error) {
    return fail(RequestStatus::stream_error,
                e.error_message.empty() ? "error event without a message" : e.error_message,
                received, rec);
  }
  merge(rec.server_timings, e.timings);
  if (e.timings.cache_n) rec.usage.cached_tokens = e.timings.cache_n;

  // A token event has text or token ids (a token whose text is held back, e.g. a possible stop
  // word, still has its id). It carries the tokens predicted since the previous token event.
  const bool stop = e.stop.value_or(false);
  if (!e.content.empty() || e.token_ids.value_or(0) > 0) {
    // The final event repeats the total: only a rise counts there.
    if (!stop || !e.tokens_predicted || *e.tokens_predicted > attributed_) {
      add_token_event(rec, received, tokens_from_cumulative(e.tokens_predicted), e.content.size());
    } else {
      rec.output_bytes += e.content.size();
    }
  }
  if (!stop) return EventOutcome::more;
  if (e.tokens_predicted) rec.usage.completion_tokens = e.tokens_predicted;
  if (e.tokens_evaluated) rec.usage.prompt_tokens = e.tokens_evaluated;
  if (!e.stop_type.empty()) rec.finish_reason.assign(e.stop_type);  // eos, word or limit
  return finish(received, rec);
}

void LlamaCppStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  end_body(t, rec, /*terminal_required=*/true, "llama.cpp's final event (\"stop\": true)");
}

std::string LlamaCppAdapter::build_body(const RequestSpec& spec) const {
  using nlohmann::ordered_json;
  const SamplingParams& s = spec.sampling;
  ordered_json body = ordered_json::object();
  // Selects the model in router (multi-model) mode; a single-model server ignores it.
  if (!spec.model.empty()) body["model"] = std::string(spec.model);
  body["prompt"] = std::string(spec.prompt);
  body["stream"] = true;
  body["n_predict"] = s.max_tokens;
  if (s.temperature) body["temperature"] = *s.temperature;
  if (s.top_p) body["top_p"] = *s.top_p;
  if (s.ignore_eos) body["ignore_eos"] = true;
  return finish_body(body, s);
}

std::unique_ptr<StreamParser> LlamaCppAdapter::make_parser() const {
  return std::make_unique<LlamaCppStreamParser>();
}

}  // namespace splleed::protocol
