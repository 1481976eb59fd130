#include "protocol/adapter.hpp"

#include <stdexcept>

#include "protocol/llamacpp.hpp"
#include "protocol/ollama.hpp"
#include "protocol/openai.hpp"
#include "protocol/sglang.hpp"
#include "protocol/tgi.hpp"
#include "protocol/triton.hpp"

namespace splleed::protocol {

OutputLengthAsk output_length_ask(Api api, const SamplingParams& s) noexcept {
  const bool min_reaches_max = s.min_tokens && *s.min_tokens >= s.max_tokens;
  switch (api) {
    case Api::openai_completions:
    case Api::openai_chat:
    case Api::sglang:
      if (s.ignore_eos || min_reaches_max) return {true, {}};
      return {false, "max_tokens is only a cap without --ignore-eos (or --min-tokens equal to it)"};
    case Api::llamacpp:
      if (s.ignore_eos) return {true, {}};
      return {false, "n_predict is only a cap without --ignore-eos"};
    case Api::tgi:
      return {false, "TGI's HTTP API has no end-of-sequence switch: max_new_tokens is only a cap"};
    case Api::ollama_generate:
    case Api::ollama_chat:
      return {false, "Ollama has no end-of-sequence switch: num_predict is only a cap"};
    case Api::triton:
      return {false, "the Triton generate body carries only max_tokens, a cap"};
  }
  return {false, "unknown API"};
}

std::unique_ptr<ProtocolAdapter> make_adapter(Api api) {
  switch (api) {
    case Api::openai_completions:
    case Api::openai_chat:
      return std::make_unique<OpenAiAdapter>(api);
    case Api::tgi:
      return std::make_unique<TgiAdapter>();
    case Api::sglang:
      return std::make_unique<SglangAdapter>();
    case Api::llamacpp:
      return std::make_unique<LlamaCppAdapter>();
    case Api::ollama_generate:
    case Api::ollama_chat:
      return std::make_unique<OllamaAdapter>(api);
    case Api::triton:
      throw std::invalid_argument(
          "the triton API needs a model name for its path: build its adapter from the target");
  }
  throw std::invalid_argument("no protocol adapter for this API");
}

std::unique_ptr<ProtocolAdapter> make_adapter(const TargetConfig& target) {
  if (target.api == Api::triton) return std::make_unique<TritonAdapter>(target.model);
  return make_adapter(target.api);
}

}  // namespace splleed::protocol
