#include "workload/run_config.hpp"

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

namespace splleed::workload {

void apply_to_run(const Workload& w, RunConfig& config) {
  config.prompts = w.prompts();
  config.prompt_max_tokens = w.max_tokens(config.sampling.max_tokens);

  config.prompt_messages.clear();
  const bool any_messages = std::any_of(w.items.begin(), w.items.end(),
                                        [](const WorkloadItem& i) { return !i.messages.empty(); });
  if (any_messages) {
    config.prompt_messages.reserve(w.items.size());
    for (const WorkloadItem& item : w.items) {
      std::vector<ChatMessage> list;
      list.reserve(item.messages.size());
      for (const Message& m : item.messages) list.push_back({m.role, m.content});
      config.prompt_messages.push_back(std::move(list));
    }
  }

  config.prompt_input_tokens.clear();
  const bool any_counts = std::any_of(w.items.begin(), w.items.end(),
                                      [](const WorkloadItem& i) { return i.input_tokens.has_value(); });
  if (any_counts) {
    config.prompt_input_tokens.reserve(w.items.size());
    for (const WorkloadItem& item : w.items) config.prompt_input_tokens.push_back(item.input_tokens.value_or(-1));
  }

  config.conversations.clear();
  for (const Session& s : w.sessions) {
    ConversationPlan plan;
    plan.id = s.id;
    plan.system_prompt = s.system_prompt;
    for (std::size_t item : s.items) plan.turns.push_back(static_cast<std::uint32_t>(item));
    config.conversations.push_back(std::move(plan));
  }
  config.think_time = w.sessions.empty() ? 0 : w.think_time;
  config.workload = to_json(w.identity).dump();
}

Workload build_for_run(WorkloadSpec spec, const std::string& tokenizer_path) {
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (!tokenizer_path.empty()) {
    tok = tokenizer::load_tokenizer(tokenizer_path);
  } else if (spec.source == SourceKind::synthetic ||
             (spec.source == SourceKind::automatic && spec.prompts.empty() && spec.path.empty())) {
    spec.approximate = true;
  }
  return build_workload(spec, tok.get());
}

}  // namespace splleed::workload
