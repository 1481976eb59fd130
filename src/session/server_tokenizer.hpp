#pragma once
// The served model's own tokenizer, reached through the target's tokenize endpoint
// (`--tokenizer server`): counts match what the server sees without a local tokenizer file.
// Prompts of an exact length are built by counting (tokenizer/prompt.hpp), so no detokenize
// endpoint is needed. It lives with the session, which talks to targets; the tokenizer layer
// itself does no I/O.
#include <memory>
#include <string_view>

#include "splleed/config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace splleed::session {

// The tokenizer name that asks the server (`--tokenizer server`, the Python API's
// tokenizer="server"); a folder of that name is reached as ./server.
inline constexpr std::string_view kServerTokenizer = "server";

// The tokenize request each API's engine answers, and how its tokens are read:
// - openai-completions, openai-chat, sglang (vLLM, SGLang, the simulator): POST /tokenize
//   {"model" (when known), "prompt", "add_special_tokens"} -> {"tokens": [ids], "count", ...}.
//   When /tokenize is a 404 on an OpenAI API, llama-cpp-python's POST /extras/tokenize
//   {"model"?, "input"} -> {"tokens": [ids]} is used instead;
// - tgi: POST /tokenize {"inputs", "add_special_tokens"} -> [{"id", "text", "start", "stop"}, ...];
// - llamacpp: POST /tokenize {"content", "add_special"} -> {"tokens": [ids]}.
// Ollama and Triton have no tokenize endpoint: TokenizerError.
//
// Special tokens: encode(text, false) and count(text) are the text's own tokens. A server that adds
// special tokens whatever it is asked (llama-cpp-python adds BOS; an older TGI ignores
// add_special_tokens) is measured once, at construction, by tokenizing the empty string: those
// tokens are taken off every answer given without specials.
//
// Construction asks the target once, so an unreachable target, a missing endpoint or an unusable
// answer fails here, before any prompt is built, with a TokenizerError that names the URL and the
// cause. Every later call is one request on a keep-alive connection from a small pool, so several
// threads may count at once. decode() is not available (TokenizerError); vocab_size() is 0.
std::unique_ptr<tokenizer::Tokenizer> make_server_tokenizer(const TargetConfig& target);

}  // namespace splleed::session
