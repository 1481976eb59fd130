#pragma once
// `splleed run` workload options (--dataset, --input-len, --tokenizer, ...): what they set and how
// they turn into the prompts, chat messages, conversations and identity of a RunConfig.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "splleed/config.hpp"

namespace splleed::cli {

// The workload flags as given, in order; each maps onto workload::set_option.
struct WorkloadCli {
  std::vector<std::pair<std::string, std::string>> options;  // (flag as typed, value)
  std::string tokenizer;  // --tokenizer PATH, or session::kServerTokenizer
  bool used() const { return !options.empty() || !tokenizer.empty(); }
};

// Adds --dataset, --dataset-format, --input-len, --output-len, --num-prompts, --shuffle,
// --prefix-groups, --prefix-len, --prefix-zipf, --turns, --think-time, --prompt-field,
// --output-field, --workload KEY=VALUE (repeatable) and --tokenizer.
void add_workload_options(CLI::App& app, WorkloadCli& w);

// Builds the workload when any workload option was given (inline prompts from config.prompts,
// the seed from config.load.seed) and fills config (workload::apply_to_run). `log` receives one
// note line (e.g. that lengths are approximate). Returns false with *error set to one sentence
// naming the flag when an option, the tokenizer or the data is unusable; true (config untouched)
// when no workload option was given.
bool apply_workload_options(const WorkloadCli& w, RunConfig& config, bool has_trace,
                            const std::function<void(const std::string&)>& log, std::string* error);

// The message of a workload error with the option it names spelled as the command line spells
// it: "--num_prompts: ..." becomes "--num-prompts: ...", "--file" "--dataset" and "--source"
// "--dataset-format". `flag`, when given, replaces the named option outright.
std::string cli_message(std::string message, const std::string& flag = {});

}  // namespace splleed::cli
