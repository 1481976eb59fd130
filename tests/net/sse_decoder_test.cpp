#include "net/sse_decoder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "net/alloc_counter.hpp"

namespace splleed::net {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

struct Ev {
  std::string data;
  std::string event;
  bool operator==(const Ev&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Ev& e) {
  return os << "{event='" << e.event << "' data='" << e.data << "'}";
}

// Feeds `pieces` in order, then finish().
std::vector<Ev> decode(const std::vector<std::string_view>& pieces) {
  SseDecoder d;
  std::vector<Ev> out;
  auto on = [&](const SseEvent& e) {
    out.push_back({std::string(e.data), std::string(e.event)});
    return true;
  };
  for (auto p : pieces) d.feed(p, on);
  d.finish(on);
  EXPECT_EQ(d.pending(), 0u);
  return out;
}
std::vector<Ev> decode(std::string_view whole) { return decode(std::vector{whole}); }

std::vector<Ev> decode_bytewise(std::string_view s) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < s.size(); ++i) pieces.push_back(s.substr(i, 1));
  return decode(pieces);
}

// Every split of `s` into two pieces, and one byte at a time, decodes like the whole.
void expect_split_invariant(std::string_view s, const std::vector<Ev>& expected) {
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    ASSERT_EQ(decode({s.substr(0, cut), s.substr(cut)}), expected) << "cut at byte " << cut;
  }
  ASSERT_EQ(decode_bytewise(s), expected);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos);
  return out;
}

std::vector<fs::path> captures() {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(SPLLEED_CAPTURES) / "llamacpp-server-b4748";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".sse") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Independent expectation for the captures (LF line ends, "data: " lines, blocks split by a
// blank line): one event per block, its data lines joined by '\n'.
std::vector<Ev> expected_from_capture(const std::string& text) {
  std::vector<Ev> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    std::string block = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 2;
    Ev ev;
    std::istringstream lines(block);
    bool any = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("data: ", 0) == 0) {
        if (any) ev.data += '\n';
        ev.data += line.substr(6);
        any = true;
      }
    }
    if (any) out.push_back(ev);
  }
  return out;
}

TEST(SseDecoder, CapturesDecodeAtEveryByteBoundary) {
  const auto files = captures();
  ASSERT_GE(files.size(), 8u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = read_file(file);
    const auto expected = expected_from_capture(text);
    ASSERT_GE(expected.size(), 3u);
    ASSERT_EQ(decode(text), expected);
    expect_split_invariant(text, expected);
  }
}

TEST(SseDecoder, CapturesWithCrLfAndCrLineEnds) {
  for (const auto& file : captures()) {
    SCOPED_TRACE(file.filename().string());
    const std::string text = read_file(file);
    const auto expected = expected_from_capture(text);
    const std::string crlf = replace_all(text, "\n", "\r\n");
    ASSERT_EQ(decode(crlf), expected);
    expect_split_invariant(crlf, expected);
    const std::string cr = replace_all(text, "\n", "\r");
    ASSERT_EQ(decode(cr), expected);
    expect_split_invariant(cr, expected);
  }
}

TEST(SseDecoder, V1StreamsEndWithDone) {
  for (const auto& file : captures()) {
    if (file.filename().string().rfind("v1_", 0) != 0) continue;
    const auto events = decode(read_file(file));
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().data, "[DONE]") << file;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) EXPECT_EQ(events[i].data.front(), '{');
  }
}

TEST(SseDecoder, CrAtEndOfFeedThenLfIsOneLineEnd) {
  SseDecoder d;
  std::vector<Ev> out;
  auto on = [&](const SseEvent& e) {
    out.push_back({std::string(e.data), std::string(e.event)});
    return true;
  };
  d.feed("data: a\r", on);
  d.feed("\ndata: b\r", on);
  EXPECT_TRUE(out.empty());  // "\r\n" was one line end: no blank line yet
  d.feed("\n\r", on);
  ASSERT_THAT(out, ElementsAre(Ev{"a\nb", ""}));
  d.feed("\n", on);  // belongs to the "\r" before it: not another blank line
  d.feed("data: c\r", on);
  d.feed("\r", on);  // two "\r" line ends: blank line
  EXPECT_THAT(out, ElementsAre(Ev{"a\nb", ""}, Ev{"c", ""}));
}

// Line ends of every kind in one feed, a "\r" line end after a "\n" one and the other way round:
// each line ends at its own first "\r" or "\n".
TEST(SseDecoder, MixedLineEndsInOneFeed) {
  const std::string s = "data: a\ndata: b\r\ndata: c\r\n\rdata: d\rdata: e\n\ndata: f\r\r";
  const std::vector<Ev> expected{{"a\nb\nc", ""}, {"d\ne", ""}, {"f", ""}};
  EXPECT_EQ(decode(s), expected);
  expect_split_invariant(s, expected);
}

TEST(SseDecoder, CommentsAreIgnored) {
  EXPECT_THAT(decode(": keep-alive\n\n:another\ndata: x\n: inside\n\n"), ElementsAre(Ev{"x", ""}));
  EXPECT_TRUE(decode(":only a comment\n\n").empty());
}

TEST(SseDecoder, MultiLineDataIsJoinedWithNewline) {
  const std::string s = "data: first\ndata:second\ndata:  third\n\n";
  const std::vector<Ev> expected{{"first\nsecond\n third", ""}};
  EXPECT_EQ(decode(s), expected);
  expect_split_invariant(s, expected);
}

TEST(SseDecoder, DataWithOrWithoutLeadingSpace) {
  EXPECT_THAT(decode("data:{\"a\":1}\n\ndata: {\"a\":2}\n\n"),
              ElementsAre(Ev{"{\"a\":1}", ""}, Ev{"{\"a\":2}", ""}));
  EXPECT_THAT(decode("data:x:y\n\n"), ElementsAre(Ev{"x:y", ""}));  // only the first ':' splits
}

TEST(SseDecoder, EventFieldNamesTheTypeOfOneEvent) {
  const std::string s =
      "event: content_block_delta\ndata: {\"d\":1}\n\n"
      "data: plain\n\n"
      "event:error\ndata: oops\n\n";
  const std::vector<Ev> expected{
      {"{\"d\":1}", "content_block_delta"}, {"plain", ""}, {"oops", "error"}};
  EXPECT_EQ(decode(s), expected);
  expect_split_invariant(s, expected);
}

TEST(SseDecoder, EmptyDataEventsAreNotDispatched) {
  EXPECT_TRUE(decode("data:\n\n").empty());
  EXPECT_TRUE(decode("data\n\n").empty());  // field without colon: empty value
  EXPECT_TRUE(decode("event: ping\n\n").empty());
  // A blank line without data also clears the event type.
  EXPECT_THAT(decode("event: ping\n\ndata: x\n\n"), ElementsAre(Ev{"x", ""}));
  EXPECT_TRUE(decode("\n\n\n\n").empty());
}

TEST(SseDecoder, IdRetryAndUnknownFieldsAreIgnored) {
  EXPECT_THAT(decode("id: 7\nretry: 100\nfoo: bar\ndata: x\n\n"), ElementsAre(Ev{"x", ""}));
}

TEST(SseDecoder, TrailingEventWithoutBlankLineIsDispatchedByFinish) {
  SseDecoder d;
  int calls = 0;
  std::string last;
  auto on = [&](const SseEvent& e) {
    ++calls;
    last = e.data;
    return true;
  };
  d.feed("data: a\n\ndata: tail", on);
  EXPECT_EQ(calls, 1);
  EXPECT_GT(d.pending(), 0u);
  EXPECT_TRUE(d.finish(on));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last, "tail");
  EXPECT_FALSE(d.finish(on));  // state was reset

  d.feed("data: b\n", on);  // line complete, event not
  EXPECT_TRUE(d.finish(on));
  EXPECT_EQ(last, "b");
  d.feed("data: c\r", on);
  EXPECT_TRUE(d.finish(on));
  EXPECT_EQ(last, "c");
  EXPECT_EQ(calls, 4);
}

TEST(SseDecoder, StopsWhenCallbackReturnsFalse) {
  SseDecoder d;
  std::vector<std::string> seen;
  d.feed("data: 1\n\ndata: 2\n\ndata: 3\n\n", [&](const SseEvent& e) {
    seen.emplace_back(e.data);
    return seen.size() < 2;
  });
  EXPECT_THAT(seen, ElementsAre("1", "2"));
  EXPECT_EQ(d.pending(), 0u);  // the rest was dropped
}

TEST(SseDecoder, ResetClearsPartialState) {
  SseDecoder d;
  int calls = 0;
  auto on = [&](const SseEvent&) { return ++calls, true; };
  d.feed("event: x\ndata: partial\ndata: li", on);
  d.reset();
  EXPECT_EQ(d.pending(), 0u);
  std::string type;
  d.feed("data: fresh\n\n", [&](const SseEvent& e) {
    type = e.event;
    EXPECT_EQ(e.data, "fresh");
    return true;
  });
  EXPECT_EQ(type, "");
  EXPECT_EQ(calls, 0);
}

TEST(SseDecoder, SteadyStateDoesNotAllocate) {
  const std::string text = read_file(captures().front());
  SseDecoder d;
  std::size_t bytes = 0;
  auto on = [&](const SseEvent& e) {
    bytes += e.data.size();
    return true;
  };
  auto pass = [&] {
    for (std::size_t i = 0; i < text.size(); i += 7) d.feed(std::string_view(text).substr(i, 7), on);
    d.finish(on);
  };
  pass();  // buffers grow to the largest event
  const auto before = testing::allocations_on_this_thread();
  pass();
  pass();
  EXPECT_EQ(testing::allocations_on_this_thread(), before);
  EXPECT_GT(bytes, 0u);
}

// ---- NDJSON ----

std::vector<std::string> decode_nd(const std::vector<std::string_view>& pieces) {
  NdjsonDecoder d;
  std::vector<std::string> out;
  auto on = [&](std::string_view line) {
    out.emplace_back(line);
    return true;
  };
  for (auto p : pieces) d.feed(p, on);
  d.finish(on);
  return out;
}

TEST(NdjsonDecoder, LinesAtEveryByteBoundary) {
  const std::string s =
      "{\"model\":\"m\",\"response\":\"a\",\"done\":false}\n"
      "{\"response\":\"b\"}\r\n"
      "\n"
      "{\"done\":true}";
  const std::vector<std::string> expected{"{\"model\":\"m\",\"response\":\"a\",\"done\":false}",
                                          "{\"response\":\"b\"}", "{\"done\":true}"};
  EXPECT_EQ(decode_nd({s}), expected);
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    ASSERT_EQ(decode_nd({std::string_view(s).substr(0, cut), std::string_view(s).substr(cut)}),
              expected)
        << "cut at " << cut;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < s.size(); ++i) bytes.push_back(std::string_view(s).substr(i, 1));
  EXPECT_EQ(decode_nd(bytes), expected);
}

TEST(NdjsonDecoder, EmptyLinesAreSkippedAndFinishReportsTail) {
  NdjsonDecoder d;
  int calls = 0;
  auto on = [&](std::string_view) { return ++calls, true; };
  d.feed("\n\r\n\n", on);
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(d.finish(on));
  d.feed("{}\n{\"x\":", on);
  EXPECT_EQ(calls, 1);
  std::string tail;
  EXPECT_TRUE(d.finish([&](std::string_view l) {
    tail = l;
    return true;
  }));
  EXPECT_EQ(tail, "{\"x\":");
  EXPECT_FALSE(d.finish(on));
}

TEST(NdjsonDecoder, StopsWhenCallbackReturnsFalse) {
  NdjsonDecoder d;
  std::vector<std::string> seen;
  d.feed("a\nb\nc\n", [&](std::string_view l) {
    seen.emplace_back(l);
    return false;
  });
  EXPECT_THAT(seen, ElementsAre("a"));
}

}  // namespace
}  // namespace splleed::net
