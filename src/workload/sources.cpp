#include "workload/sources.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace splleed::workload {
namespace {

using nlohmann::json;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WorkloadError(fmt::format("{}: cannot open", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw WorkloadError(fmt::format("{}: read error", path.string()));
  return std::move(ss).str();
}

// Calls f(line_text, line_number) for each line, without its '\n' or a trailing '\r'.
template <class F>
void for_each_line(const std::string& text, F&& f) {
  std::size_t start = 0, line = 1;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view l(text.data() + start, end - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    f(l, line);
    start = end + 1;
    ++line;
  }
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; });
}

[[noreturn]] void fail_at(const std::filesystem::path& p, std::size_t line, std::string_view what) {
  throw WorkloadError(fmt::format("{}:{}: {}", p.string(), line, what));
}

json parse_line(const std::filesystem::path& p, std::string_view l, std::size_t line) {
  try {
    return json::parse(l);
  } catch (const json::parse_error& e) {
    fail_at(p, line, fmt::format("invalid JSON: {}", e.what()));
  }
}

// The value at a dot-separated path, or null when a step is missing.
const json* at_path(const json& root, std::string_view path) {
  const json* cur = &root;
  while (true) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string_view::npos) return cur;
    path.remove_prefix(dot + 1);
  }
}

std::string type_name(const json& v) { return v.type_name(); }

std::string content_text(const std::filesystem::path& p, std::size_t line, const json& c,
                         std::size_t i) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_array()) {
    std::string out;
    for (std::size_t k = 0; k < c.size(); ++k) {
      const json& part = c[k];
      if (!part.is_object()) {
        fail_at(p, line, fmt::format("field 'messages[{}].content[{}]': expected an object, got {}",
                                     i, k, type_name(part)));
      }
      const auto type = part.find("type");
      if (type != part.end() && type->is_string() && *type != "text") continue;  // images etc.
      const auto text = part.find("text");
      if (text == part.end() || !text->is_string()) {
        fail_at(p, line,
                fmt::format("field 'messages[{}].content[{}].text': expected a string", i, k));
      }
      out += text->get<std::string>();
    }
    return out;
  }
  fail_at(p, line,
          fmt::format("field 'messages[{}].content': expected a string or an array of parts, got {}",
                      i, type_name(c)));
}

}  // namespace

SourceRead read_text(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  SourceRead r;
  for_each_line(text, [&](std::string_view l, std::size_t line) {
    ++r.entries_read;
    if (blank(l)) {
      ++r.skipped["blank line"];
      return;
    }
    r.entries.push_back(SourceEntry{std::string(l), {}, std::nullopt, line});
  });
  return r;
}

SourceRead read_jsonl(const std::filesystem::path& path, const std::string& prompt_field,
                      const std::string& output_field) {
  if (prompt_field.empty()) throw WorkloadError("prompt_field: must not be empty");
  const std::string text = read_file(path);
  SourceRead r;
  for_each_line(text, [&](std::string_view l, std::size_t line) {
    if (blank(l)) return;
    ++r.entries_read;
    const json obj = parse_line(path, l, line);
    if (!obj.is_object()) fail_at(path, line, fmt::format("expected a JSON object, got {}", type_name(obj)));
    const json* v = at_path(obj, prompt_field);
    if (v == nullptr) fail_at(path, line, fmt::format("field '{}': missing", prompt_field));
    if (!v->is_string()) {
      fail_at(path, line, fmt::format("field '{}': expected a string, got {}", prompt_field, type_name(*v)));
    }
    SourceEntry e{v->get<std::string>(), {}, std::nullopt, line};
    if (!output_field.empty()) {
      const json* o = at_path(obj, output_field);
      if (o == nullptr) fail_at(path, line, fmt::format("field '{}': missing", output_field));
      if (!o->is_number_integer() || o->get<std::int64_t>() < 1) {
        fail_at(path, line, fmt::format("field '{}': expected an integer >= 1, got {}", output_field, o->dump()));
      }
      e.output_len = o->get<std::int64_t>();
    }
    r.entries.push_back(std::move(e));
  });
  return r;
}

SourceRead read_messages(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  SourceRead r;
  for_each_line(text, [&](std::string_view l, std::size_t line) {
    if (blank(l)) return;
    ++r.entries_read;
    const json obj = parse_line(path, l, line);
    if (!obj.is_object()) fail_at(path, line, fmt::format("expected a JSON object, got {}", type_name(obj)));
    const auto ms = obj.find("messages");
    if (ms == obj.end()) fail_at(path, line, "field 'messages': missing");
    if (!ms->is_array() || ms->empty()) {
      fail_at(path, line, "field 'messages': expected a non-empty array");
    }
    SourceEntry e;
    e.line = line;
    bool has_user = false;
    for (std::size_t i = 0; i < ms->size(); ++i) {
      const json& m = (*ms)[i];
      if (!m.is_object()) {
        fail_at(path, line, fmt::format("field 'messages[{}]': expected an object, got {}", i, type_name(m)));
      }
      const auto role = m.find("role");
      if (role == m.end() || !role->is_string()) {
        fail_at(path, line, fmt::format("field 'messages[{}].role': expected a string", i));
      }
      const auto content = m.find("content");
      if (content == m.end()) fail_at(path, line, fmt::format("field 'messages[{}].content': missing", i));
      Message msg{role->get<std::string>(), content_text(path, line, *content, i)};
      if (msg.role == "user") {
        e.prompt = msg.content;
        has_user = true;
      }
      e.messages.push_back(std::move(msg));
    }
    if (!has_user) fail_at(path, line, "field 'messages': no message with role 'user'");
    r.entries.push_back(std::move(e));
  });
  return r;
}

ShareGptRead read_sharegpt(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports a byte offset; turn it into a line for the message.
    const std::size_t upto = std::min<std::size_t>(e.byte, text.size());
    const auto line = 1 + static_cast<std::size_t>(
                              std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(upto == 0 ? 0 : upto - 1), '\n'));
    fail_at(path, line, fmt::format("invalid JSON: {}", e.what()));
  }
  if (!doc.is_array()) {
    throw WorkloadError(fmt::format("{}: expected a JSON array of conversations, got {}",
                                    path.string(), type_name(doc)));
  }
  const auto fail_entry = [&](std::size_t i, std::string_view what) {
    throw WorkloadError(fmt::format("{}: entry {}: {}", path.string(), i, what));
  };
  const auto is_human = [](const std::string& f) { return f == "human" || f == "user"; };
  const auto is_model = [](const std::string& f) {
    return f == "gpt" || f == "assistant" || f == "chatgpt" || f == "bard" || f == "bing";
  };
  ShareGptRead r;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    ++r.entries_read;
    const json& entry = doc[i];
    if (!entry.is_object()) fail_entry(i, fmt::format("expected an object, got {}", type_name(entry)));
    const auto conv = entry.find("conversations");
    if (conv == entry.end()) {
      ++r.skipped["no conversations"];
      continue;
    }
    if (!conv->is_array()) fail_entry(i, "field 'conversations': expected an array");
    std::vector<std::pair<std::string, std::string>> turns;  // (from, value)
    for (std::size_t j = 0; j < conv->size(); ++j) {
      const json& t = (*conv)[j];
      if (!t.is_object()) {
        fail_entry(i, fmt::format("field 'conversations[{}]': expected an object, got {}", j, type_name(t)));
      }
      const auto from = t.find("from");
      if (from == t.end() || !from->is_string()) {
        fail_entry(i, fmt::format("field 'conversations[{}].from': expected a string", j));
      }
      const auto value = t.find("value");
      if (value == t.end() || !value->is_string()) {
        fail_entry(i, fmt::format("field 'conversations[{}].value': expected a string", j));
      }
      turns.emplace_back(from->get<std::string>(), value->get<std::string>());
    }
    if (turns.size() < 2) {
      ++r.skipped["fewer than 2 turns"];
      continue;
    }
    Conversation c;
    c.index = i;
    for (std::size_t j = 0; j + 1 < turns.size(); ++j) {
      if (is_human(turns[j].first) && is_model(turns[j + 1].first)) {
        c.exchanges.emplace_back(std::move(turns[j].second), std::move(turns[j + 1].second));
        ++j;
      }
    }
    if (c.exchanges.empty()) {
      ++r.skipped["no human turn followed by a reply"];
      continue;
    }
    r.conversations.push_back(std::move(c));
  }
  return r;
}

}  // namespace splleed::workload
