#include "workload_options.hpp"

#include "session/server_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "workload/run_config.hpp"
#include "workload/workload.hpp"

namespace splleed::cli {

namespace {

// Records a flag's value under the flag's name, in command-line order.
CLI::Option* add(CLI::App& app, WorkloadCli& w, const std::string& names, const std::string& key,
                 const std::string& help) {
  return app
      .add_option_function<std::vector<std::string>>(
          names,
          [&w, key](const std::vector<std::string>& values) {
            for (const auto& v : values) w.options.emplace_back(key, v);
          },
          help)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// One sentence: ends with a full stop.
std::string sentence(std::string s) {
  if (!s.empty() && s.back() != '.') s += '.';
  return s;
}

}  // namespace

void add_workload_options(CLI::App& app, WorkloadCli& w) {
  add(app, w, "--dataset,--file", "--dataset",
      "Prompts from a file: text (one per line), JSONL, chat messages JSONL or ShareGPT JSON");
  add(app, w, "--dataset-format,--source", "--dataset-format",
      "auto, text, jsonl, messages, sharegpt or synthetic (auto: by file extension; synthetic "
      "without --dataset)");
  add(app, w, "--input-len", "--input-len",
      "Synthetic prompt length in tokens: N, uniform:lo:hi, normal:mean:sd, lognormal:mu:sigma");
  add(app, w, "--output-len", "--output-len",
      "Output length per request (max_tokens), same forms as --input-len; overrides the dataset's");
  add(app, w, "--num-prompts", "--num-prompts",
      "Prompts to use (the first N usable entries; synthetic: to make, default 1000; with "
      "--turns: conversations)");
  app.add_flag_callback(
      "--shuffle", [&w] { w.options.emplace_back("--shuffle", "true"); },
      "Shuffle the dataset's entries (seeded by --seed) before taking --num-prompts");
  add(app, w, "--prefix-groups", "--prefix-groups",
      "Synthetic: number of shared system-prompt prefixes (prefix caching)");
  add(app, w, "--prefix-len", "--prefix-len", "Synthetic: tokens of each shared prefix");
  add(app, w, "--prefix-zipf", "--prefix-zipf",
      "Synthetic: draw prefix groups with Zipf exponent s (default: in turn)");
  add(app, w, "--turns", "--turns",
      "Multi-turn conversations of this many turns (synthetic, sharegpt; chat APIs)");
  add(app, w, "--think-time", "--think-time",
      "Multi-turn: pause between a reply and the next turn (500ms, 2s; a bare number is seconds)");
  add(app, w, "--prompt-field", "--prompt-field", "JSONL: field holding the prompt (a.b for nested)");
  add(app, w, "--output-field", "--output-field", "JSONL: integer field holding the output length");
  add(app, w, "--workload", "--workload",
      "Any other workload option as KEY=VALUE (repeatable), e.g. min_len=4, max_output_len=512");
  app.add_option("--tokenizer", w.tokenizer,
                 "tokenizer.json, tokenizer.model, or a folder holding one: exact token lengths "
                 "and client-side prompt token counts; `server`: the target's own tokenize "
                 "endpoint (needs --base-url)");
}

std::string cli_message(std::string message, const std::string& flag) {
  if (message.rfind("--", 0) != 0) return flag.empty() ? message : flag + ": " + message;
  const auto colon = message.find(':');
  if (colon == std::string::npos) return message;
  std::string name = message.substr(0, colon);
  if (!flag.empty()) {
    name = flag;
  } else {
    for (char& c : name)
      if (c == '_') c = '-';
    if (name == "--file") name = "--dataset";
    if (name == "--source") name = "--dataset-format";
  }
  return name + message.substr(colon);
}

bool apply_workload_options(const WorkloadCli& w, RunConfig& config, bool has_trace,
                            const std::function<void(const std::string&)>& log, std::string* error) {
  if (!w.used()) return true;
  if (has_trace) {
    *error = "--trace brings its own prompts and lengths; drop the workload options (--dataset, "
             "--input-len, --tokenizer, ...).";
    return false;
  }
  workload::WorkloadSpec spec;
  spec.seed = config.load.seed;
  for (const auto& p : config.prompts) spec.prompts.push_back(p);
  for (const auto& [flag, value] : w.options) {
    std::string key = flag, v = value;
    if (flag == "--workload") {
      const auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        *error = "--workload '" + value + "': expected KEY=VALUE, e.g. --workload min_len=4.";
        return false;
      }
      key = value.substr(0, eq);
      v = value.substr(eq + 1);
      if (key == "seed") {
        *error = "--workload seed: the workload's seed is the run's --seed.";
        return false;
      }
      if (key == "prompt") {
        *error = "--workload prompt: give prompts with --prompt.";
        return false;
      }
    }
    try {
      workload::set_option(spec, key, v);
    } catch (const workload::WorkloadError& e) {
      *error = sentence(cli_message(e.what(), flag == "--workload" ? "--workload " + value : flag));
      return false;
    }
  }
  if (w.tokenizer == session::kServerTokenizer && config.target.base_url.empty()) {
    // Prompts are built before the run, and the simulator of --sim or an engine of --launch only
    // starts with it.
    *error = "--tokenizer server asks the target's tokenize endpoint before the run, so it needs "
             "a running server given with --base-url (not --sim or --launch).";
    return false;
  }
  workload::Workload built;
  try {
    if (w.tokenizer == session::kServerTokenizer) {
      const auto tok = session::make_server_tokenizer(config.target);
      built = workload::build_workload(spec, tok.get());
    } else {
      built = workload::build_for_run(std::move(spec), w.tokenizer);
    }
  } catch (const tokenizer::TokenizerError& e) {
    *error = sentence(std::string("--tokenizer: ") + e.what());
    return false;
  } catch (const std::exception& e) {
    *error = sentence(cli_message(e.what()));
    return false;
  }
  if (!built.sessions.empty() && config.target.api != Api::openai_chat &&
      config.target.api != Api::ollama_chat) {
    *error = "--turns: multi-turn conversations send the chat history: use --api openai-chat or "
             "ollama-chat.";
    return false;
  }
  if (built.identity.approximate && log)
    log("no --tokenizer: synthetic lengths are counted in words, so token counts are approximate.");
  workload::apply_to_run(built, config);
  return true;
}

}  // namespace splleed::cli
