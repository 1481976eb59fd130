#include "protocol/adapter.hpp"

#include <stdexcept>

#include "protocol/openai.hpp"

namespace splleed::protocol {

std::unique_ptr<ProtocolAdapter> make_adapter(Api api) {
  switch (api) {
    case Api::openai_completions:
    case Api::openai_chat:
      return std::make_unique<OpenAiAdapter>(api);
  }
  throw std::invalid_argument("no protocol adapter for this API");
}

}  // namespace splleed::protocol
