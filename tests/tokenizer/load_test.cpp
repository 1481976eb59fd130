// Loader choice, error messages, unsupported components, and behaviour outside the reference
// corpus (invalid UTF-8, partial decodes, concurrency).
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tokenizer/tokenizer.hpp"

namespace splleed::tokenizer::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kDir = fs::path(SPLLEED_FIXTURES) / "tokenizer";

// The message of the TokenizerError thrown by f ("" if none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "";
}

// A minimal byte-level BPE: tokens a, b, ab, <s>, </s>; one merge.
std::string tiny_json(const std::string& pre_tokenizer = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":false})",
                      const std::string& model_extra = "",
                      const std::string& post = "null", const std::string& decoder =
                          R"({"type":"ByteLevel"})",
                      const std::string& normalizer = "null") {
  return R"({"version":"1.0","added_tokens":[{"id":3,"content":"<s>","special":true},
    {"id":4,"content":"</s>","special":true}],
    "normalizer":)" + normalizer + R"(,"pre_tokenizer":)" + pre_tokenizer +
         R"(,"post_processor":)" + post + R"(,"decoder":)" + decoder +
         R"(,"model":{"type":"BPE")" + model_extra +
         R"(,"vocab":{"a":0,"b":1,"ab":2,"<s>":3,"</s>":4},"merges":["a b"]}})";
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("splleed_tokenizer_test_" + std::to_string(::testing::UnitTest::GetInstance()
                                                            ->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Load, PicksByDirectoryAndExtension) {
  EXPECT_EQ(load_tokenizer(kDir / "gpt2")->vocab_size(), 901u);
  EXPECT_EQ(load_tokenizer(kDir / "gpt2" / "tokenizer.json")->vocab_size(), 901u);
  EXPECT_EQ(load_tokenizer(kDir / "sp_bpe")->vocab_size(), 600u);
  EXPECT_EQ(load_tokenizer(kDir / "sp_bpe" / "tokenizer.model")->vocab_size(), 600u);
}

TEST(Load, SniffsOtherNames) {
  TempDir dir;
  fs::copy_file(kDir / "gpt2" / "tokenizer.json", dir.path() / "vocab.bin");
  fs::copy_file(kDir / "sp_unigram" / "tokenizer.model", dir.path() / "spm.bin");
  EXPECT_EQ(load_tokenizer(dir.path() / "vocab.bin")->encode("Hello world", false),
            load_tokenizer(kDir / "gpt2")->encode("Hello world", false));
  EXPECT_EQ(load_tokenizer(dir.path() / "spm.bin")->encode("Hello world", false),
            load_tokenizer(kDir / "sp_unigram")->encode("Hello world", false));
}

TEST(Load, ErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  const fs::path missing = dir.path() / "nope.json";
  EXPECT_THAT(error_of([&] { load_tokenizer(missing); }),
              HasSubstr(missing.string() + ": no such file"));
  EXPECT_THAT(error_of([&] { load_tokenizer(dir.path()); }),
              HasSubstr("no tokenizer.json or tokenizer.model"));

  const fs::path bad_json = dir.path() / "tokenizer.json";
  std::ofstream(bad_json) << "{\"model\": ";
  EXPECT_THAT(error_of([&] { load_tokenizer(bad_json); }),
              HasSubstr(bad_json.string() + ": not valid JSON"));

  const fs::path bad_model = dir.path() / "x.model";
  std::ofstream(bad_model) << "definitely not a protobuf";
  EXPECT_THAT(error_of([&] { load_tokenizer(bad_model); }),
              HasSubstr(bad_model.string() + ": not a SentencePiece model"));

  std::ofstream(dir.path() / "array.json") << "[1, 2]";
  EXPECT_THAT(error_of([&] { load_tokenizer(dir.path() / "array.json"); }),
              HasSubstr("not a tokenizer.json object"));
}

TEST(Load, UnsupportedComponentsAreNamed) {
  auto err = [](const std::string& json) {
    return error_of([&] { load_hf_tokenizer_json(json, "t.json"); });
  };
  EXPECT_THAT(err(tiny_json(R"({"type":"Metaspace","replacement":"▁"})")),
              HasSubstr("t.json: unsupported pre_tokenizer 'Metaspace'"));
  EXPECT_THAT(err(tiny_json(R"({"type":"Sequence","pretokenizers":[{"type":"Digits"},
                  {"type":"ByteLevel"}]})")),
              HasSubstr("unsupported pre_tokenizer 'Digits'"));
  EXPECT_THAT(err(tiny_json("null")), HasSubstr("no pre_tokenizer"));
  EXPECT_THAT(err(tiny_json(R"({"type":"Split","pattern":{"Regex":"a"},"behavior":"Isolated"})")),
              HasSubstr("must end with ByteLevel"));
  EXPECT_THAT(err(tiny_json(R"({"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated"})")),
              HasSubstr("cannot compile pattern '(a'"));
  EXPECT_THAT(err(tiny_json(R"({"type":"Sequence","pretokenizers":[{"type":"Split",
                  "pattern":{"Regex":"a"},"behavior":"Sideways"},{"type":"ByteLevel"}]})")),
              HasSubstr("unsupported Split behavior 'Sideways'"));
  EXPECT_THAT(err(tiny_json(R"({"type":"ByteLevel"})", "", "null", R"({"type":"ByteLevel"})",
                            R"({"type":"Lowercase"})")),
              HasSubstr("unsupported normalizer 'Lowercase'"));
  EXPECT_THAT(err(tiny_json(R"({"type":"ByteLevel"})", "", R"({"type":"Bizarre"})")),
              HasSubstr("unsupported post_processor 'Bizarre'"));
  EXPECT_THAT(err(tiny_json(R"({"type":"ByteLevel"})", R"(,"continuing_subword_prefix":"##")")),
              HasSubstr("continuing_subword_prefix is not supported"));
  EXPECT_THAT(err(R"({"model":{"type":"Unigram","vocab":[]},"pre_tokenizer":{"type":"ByteLevel"}})"),
              HasSubstr("unsupported model 'Unigram'"));
  EXPECT_THAT(err(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a c"]},
                      "pre_tokenizer":{"type":"ByteLevel"}})"),
              HasSubstr("merge 'a c' uses or makes a token missing from the vocabulary"));
  EXPECT_THAT(err(R"({"normalizer":null})"), HasSubstr("no \"model\""));
}

TEST(Load, UnsupportedDecoderFailsOnlyDecode) {
  const auto tok = load_hf_tokenizer_json(
      tiny_json(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":false})", "", "null",
                R"({"type":"WordPiece"})"),
      "t.json");
  EXPECT_EQ(tok->encode("ab", false), (std::vector<std::int32_t>{2}));
  EXPECT_THAT(error_of([&] { tok->decode(std::vector<std::int32_t>{2}); }),
              HasSubstr("t.json: unsupported decoder 'WordPiece'"));
}

TEST(TinyBpe, MergesDropsUnknownBytesAndFrames) {
  const auto tok = load_hf_tokenizer_json(
      tiny_json(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":false})", "",
                R"({"type":"RobertaProcessing","sep":["</s>",4],"cls":["<s>",3]})"),
      "t.json");
  EXPECT_EQ(tok->encode("aab", false), (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(tok->encode("ab", true), (std::vector<std::int32_t>{3, 2, 4}));
  // 'c' has no token and there is no unk_token: it is dropped before merging (as `tokenizers`
  // does), so a and b still merge.
  EXPECT_EQ(tok->encode("acb", false), (std::vector<std::int32_t>{2}));
  EXPECT_EQ(tok->encode("a<s>b", false), (std::vector<std::int32_t>{0, 3, 1}));
  EXPECT_EQ(tok->decode(std::vector<std::int32_t>{3, 2, 0, 4}), "<s>aba</s>");
  EXPECT_EQ(tok->vocab_size(), 5u);
}

TEST(TinyBpe, UnknownTokenFuses) {
  const auto tok = load_hf_tokenizer_json(
      tiny_json(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":false})",
                R"(,"unk_token":"</s>","fuse_unk":true)"),
      "t.json");
  EXPECT_EQ(tok->encode("accb", false), (std::vector<std::int32_t>{0, 4, 1}));
}

TEST(Decode, RejectsIdsOutsideTheVocabulary) {
  for (const char* name : {"gpt2", "sp_bpe"}) {
    const auto tok = load_tokenizer(kDir / name);
    const std::vector<std::int32_t> bad{static_cast<std::int32_t>(tok->vocab_size()) + 5};
    EXPECT_THAT(error_of([&] { tok->decode(bad); }), HasSubstr("is not in the vocabulary"));
    EXPECT_THROW(tok->decode(std::vector<std::int32_t>{-1}), TokenizerError);
  }
}

TEST(Decode, TokensCutInsideACharacterGiveReplacementCharacters) {
  const auto tok = load_tokenizer(kDir / "gpt2");
  const auto ids = tok->encode("👨‍👩‍👧", false);
  ASSERT_GT(ids.size(), 2u);
  EXPECT_EQ(tok->decode(ids), "👨‍👩‍👧");
  const std::string head = tok->decode(std::span(ids).first(1));
  EXPECT_THAT(head, HasSubstr("\xEF\xBF\xBD"));  // U+FFFD
}

TEST(Encode, InvalidUtf8IsReadAsReplacementCharacter) {
  for (const char* name : {"gpt2", "llama3", "qwen2", "sp_unigram"}) {
    const auto tok = load_tokenizer(kDir / name);
    EXPECT_EQ(tok->encode("ab\xFF" "cd \xC3", false),
              tok->encode("ab\xEF\xBF\xBD" "cd \xEF\xBF\xBD", false))
        << name;
  }
}

TEST(Encode, ConcurrentCallsAgree) {
  const auto tok = load_tokenizer(kDir / "llama3");
  const std::string text = "Hello, world! <|eot_id|> 1234567 日本語 👨‍👩‍👧‍👦 don't\n\n  \t";
  const auto expected = tok->encode(text, true);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (std::size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 200; ++i) same = same && tok->encode(text, true) == expected;
      ok[t] = same ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

}  // namespace
}  // namespace splleed::tokenizer::test
