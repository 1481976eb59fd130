#include "workload/output_control.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace splleed::workload {

// Field names from the engines' request parsers: vLLM's SamplingParams via its OpenAI protocol
// (max_tokens, min_tokens, ignore_eos); TGI's router GenerateParameters (max_new_tokens; no
// end-of-sequence switch over HTTP); llama.cpp's server (n_predict, ignore_eos); SGLang's
// SamplingParams (max_new_tokens, min_new_tokens, ignore_eos); Ollama's api.Options (num_predict;
// no end-of-sequence switch).
OutputLengthControl output_length_fields(std::string_view api, std::int32_t n) {
  if (n < 1) throw std::invalid_argument(fmt::format("output length {} must be >= 1", n));
  using nlohmann::json;
  OutputLengthControl c;
  if (api == "openai" || api == "vllm" || api == "openai-completions" || api == "openai-chat") {
    c.patch = json{{"max_tokens", n}, {"min_tokens", n}, {"ignore_eos", true}};
    c.exact = true;
  } else if (api == "tgi") {
    c.patch = json{{"parameters", json{{"max_new_tokens", n}}}};
    c.note = "TGI's HTTP API has no ignore_eos: a reply can end early at an end-of-sequence token";
  } else if (api == "llamacpp" || api == "llama.cpp") {
    c.patch = json{{"n_predict", n}, {"ignore_eos", true}};
    c.exact = true;
  } else if (api == "sglang") {
    c.patch = json{{"sampling_params",
                    json{{"max_new_tokens", n}, {"min_new_tokens", n}, {"ignore_eos", true}}}};
    c.exact = true;
  } else if (api == "ollama" || api == "ollama-generate" || api == "ollama-chat") {
    c.patch = json{{"options", json{{"num_predict", n}}}};
    c.note = "Ollama has no ignore_eos option: a reply can end early at an end-of-sequence token";
  } else {
    throw std::invalid_argument(fmt::format(
        "unknown API '{}' for output length control (openai, vllm, openai-completions, "
        "openai-chat, tgi, llamacpp, sglang, ollama, ollama-generate, ollama-chat)",
        api));
  }
  return c;
}

OutputLengthReport check_output_lengths(std::span<const OutputLengthSample> samples) {
  OutputLengthReport r;
  double abs_sum = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    ++r.requests;
    if (!s.produced) {
      ++r.unknown;
      continue;
    }
    const std::int64_t diff = *s.produced - s.requested;
    r.requested_total += s.requested;
    r.produced_total += *s.produced;
    abs_sum += static_cast<double>(std::llabs(diff));
    if (diff == 0) {
      ++r.exact;
    } else if (diff < 0) {
      ++r.shorter;
      if (-diff > r.worst_short) {
        r.worst_short = -diff;
        r.worst_short_index = i;
      }
    } else {
      ++r.longer;
      if (diff > r.worst_long) {
        r.worst_long = diff;
        r.worst_long_index = i;
      }
    }
  }
  const std::int64_t known = r.requests - r.unknown;
  if (known > 0) r.mean_abs_diff = abs_sum / static_cast<double>(known);
  return r;
}

nlohmann::json to_json(const OutputLengthReport& r) {
  using nlohmann::json;
  const auto opt = [](const std::optional<std::size_t>& v) { return v ? json(*v) : json(nullptr); };
  return json{{"requests", r.requests},
              {"unknown", r.unknown},
              {"exact", r.exact},
              {"shorter", r.shorter},
              {"longer", r.longer},
              {"worst_short", r.worst_short},
              {"worst_short_index", opt(r.worst_short_index)},
              {"worst_long", r.worst_long},
              {"worst_long_index", opt(r.worst_long_index)},
              {"mean_abs_diff", r.mean_abs_diff},
              {"requested_total", r.requested_total},
              {"produced_total", r.produced_total}};
}

std::string describe(const OutputLengthReport& r) {
  const std::int64_t known = r.requests - r.unknown;
  std::string s;
  if (known == 0) {
    s = r.requests == 0 ? "no requests" : "no request had a token count";
  } else if (r.exact == known) {
    s = fmt::format("all {} requests with a count produced the requested length", known);
  } else {
    std::string sep;
    if (r.shorter > 0) {
      s += fmt::format("{} of {} requests ended short (worst: {} tokens short, request {})",
                       r.shorter, known, r.worst_short, *r.worst_short_index);
      sep = "; ";
    }
    if (r.longer > 0) {
      s += sep + fmt::format("{} of {} ran long (worst: {} tokens over, request {})", r.longer,
                             known, r.worst_long, *r.worst_long_index);
    }
  }
  if (r.unknown > 0 && known > 0) s += fmt::format("; {} had no token count", r.unknown);
  return s;
}

}  // namespace splleed::workload
