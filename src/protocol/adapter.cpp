#include "protocol/adapter.hpp"

#include <stdexcept>

#include "protocol/llamacpp.hpp"
#include "protocol/ollama.hpp"
#include "protocol/openai.hpp"
#include "protocol/sglang.hpp"
#include "protocol/tgi.hpp"
#include "protocol/triton.hpp"

namespace splleed::protocol {

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
