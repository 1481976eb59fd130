// splleed._core: the C++ side of the Python API.
//
// A benchmark runs on a C++ thread that never touches Python: the record sink copies each finished
// record into a queue under a mutex, and the Python thread (the caller of Benchmark.run_sync, or the
// event loop of Benchmark.run) waits in short, GIL-free waits, drains the queue and calls the user's
// callbacks. The queue is unbounded, so a slow callback delays only its own thread, never the
// workers; its memory is bounded by the run's own record count.
//
// Configuration arrives as the "config" object of the results JSON (docs/results-format.md), read
// by report::from_json, so the Python API and the CLI share one parser and one schema.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "launch/launch_spec.hpp"
#include "metrics/request_metrics.hpp"
#include "report/reporters.hpp"
#include "session/server_tokenizer.hpp"
#include "session/session.hpp"
#include "sim/sim_server.hpp"
#include "splleed/version.hpp"
#include "tokenizer/tokenizer.hpp"
#include "workload/run_config.hpp"
#include "workload/workload.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

using namespace splleed;
using nlohmann::json;

// A configuration the C++ side rejects; surfaces in Python as a ValueError subclass.
struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Reads a "config" object through report::from_json by wrapping it in an otherwise empty results
// document; the wrapper's other fields are placeholders that from_json requires.
RunConfig config_from_json_text(const std::string& text, const std::string& api_key) {
  json config = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object())
    throw ConfigError("the configuration is not a JSON object.");
  json doc = {
      {"schema_version", BenchmarkResult::kSchemaVersion},
      {"config", std::move(config)},
      {"environment",
       {{"hostname", ""}, {"os", ""}, {"cpu_model", ""}, {"cpu_cores", 0},
        {"splleed_version", ""}, {"build_commit", ""}, {"target_url", ""}, {"served_model", ""}}},
      {"clock", {{"monotonic_origin_ns", 0}, {"wall_start_unix_ns", 0}, {"wall_start", ""}}},
      {"interrupted", false},
      {"stop_reason", ""},
      {"runs", json::array()},
  };
  RunConfig out;
  try {
    out = report::from_json(doc).config;
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  // from_json only restores a placeholder for a key; the real one travels apart from the JSON.
  out.target.api_key = api_key;
  return out;
}

// The simulator's settings as a JSON object with SimConfig's field names; unknown keys are errors.
sim::SimConfig sim_from_json_text(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw ConfigError("the simulator configuration is not a JSON object.");
  sim::SimConfig c;
  for (const auto& [key, value] : j.items()) {
    try {
      if (key == "ttft_ms") c.ttft_ms = value.get<double>();
      else if (key == "itl_ms") c.itl_ms = value.get<double>();
      else if (key == "prefill_us_per_token") c.prefill_us_per_token = value.get<double>();
      else if (key == "step_us_per_running") c.step_us_per_running = value.get<double>();
      else if (key == "jitter") c.jitter = value.get<double>();
      else if (key == "eos_probability") c.eos_probability = value.get<double>();
      else if (key == "max_running") c.max_running = value.get<std::int32_t>();
      else if (key == "threads") c.threads = value.get<std::int32_t>();
      else if (key == "seed") c.seed = value.get<std::uint64_t>();
      else if (key == "model") c.model = value.get<std::string>();
      else throw ConfigError("unknown simulator setting '" + key + "'.");
    } catch (const json::exception&) {
      throw ConfigError("simulator setting '" + key + "' has the wrong type.");
    }
  }
  // A simulator that nobody reads the send log of keeps none.
  c.record_send_log = false;
  return c;
}

// The engine to launch (managed mode) as a JSON object: engine, model, binary, options (key ->
// text, as `--engine-opt key=value`), args, port, log_dir, timeout_s, stop_grace_s.
session::ManagedEngine launch_from_json_text(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw ConfigError("the engine to launch is not a JSON object.");
  session::ManagedEngine m;
  try {
    const std::string name = j.value("engine", std::string());
    const auto engine = launch::parse_engine(name);
    if (!engine)
      throw ConfigError("unknown engine to launch '" + name + "'; choose one of: " +
                        std::string(launch::engine_names()) + ".");
    m.spec.engine = *engine;
    m.spec.model = j.value("model", std::string());
    if (m.spec.model.empty() && *engine == launch::Engine::sim) m.spec.model = "splleed-sim";
    if (m.spec.model.empty())
      throw ConfigError("launching " + name + " needs a model (the backend's model=).");
    m.spec.binary = j.value("binary", std::string());
    m.spec.port = j.value("port", std::uint16_t{0});
    m.spec.extra_args = j.value("args", std::vector<std::string>{});
    if (j.contains("options")) {
      for (const auto& [key, value] : j.at("options").items())
        launch::set_option(m.spec, key, value.get<std::string>());
    }
    const std::string log_dir = j.value("log_dir", std::string());
    if (!log_dir.empty()) m.log_dir = log_dir;
    const double timeout_s = j.value("timeout_s", 1200.0);
    const double grace_s = j.value("stop_grace_s", 15.0);
    if (!(timeout_s > 0)) throw ConfigError("engine_timeout_s must be positive.");
    if (!(grace_s >= 0)) throw ConfigError("engine_stop_grace_s must not be negative.");
    m.health_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
    m.stop_grace = std::chrono::milliseconds(static_cast<std::int64_t>(grace_s * 1000));
  } catch (const launch::LaunchError& e) {
    throw ConfigError(e.what());
  } catch (const json::exception& e) {
    throw ConfigError(std::string("the engine to launch has a field of the wrong type: ") +
                      e.what());
  }
  return m;
}

nb::object nullable_ms(const std::optional<double>& ns) {
  if (!ns) return nb::none();
  return nb::float_(*ns / 1e6);
}

// Per-request metrics (docs/metrics.md) in milliseconds, None where undefined for the request.
nb::dict metrics_dict(const RequestRecord& r) {
  const metrics::RequestMetrics m = metrics::compute(r);
  nb::dict d;
  d["ttft_ms"] = nullable_ms(m.ttft);
  d["ttft_from_schedule_ms"] = nullable_ms(m.ttft_from_schedule);
  d["schedule_lag_ms"] = nullable_ms(m.schedule_lag);
  d["ttst_ms"] = nullable_ms(m.ttst);
  d["tpot_ms"] = nullable_ms(m.tpot);
  d["e2e_ms"] = nullable_ms(m.e2e);
  d["e2e_from_schedule_ms"] = nullable_ms(m.e2e_from_schedule);
  d["stream_end_ms"] = nullable_ms(m.stream_end);
  d["worst_stall_ms"] = nullable_ms(m.worst_stall);
  return d;
}

// One record as a "requests" entry of the results JSON, written by the CLI's own reporter.
// Called with the GIL held (the draining thread), never on a worker thread.
nb::dict record_dict(const RequestRecord& r, Nanos origin) {
  nb::object loads = nb::module_::import_("json").attr("loads");  // cached in sys.modules
  return nb::cast<nb::dict>(loads(report::request_to_json(r, origin).dump()));
}

// A finished benchmark, kept in C++ form so that every view is written by the CLI's own reporters.
class Result {
 public:
  explicit Result(BenchmarkResult r) : r_(std::move(r)) {}

  static Result from_json_text(const std::string& text) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw ConfigError("results JSON: not valid JSON.");
    try {
      return Result(report::from_json(j));
    } catch (const std::runtime_error& e) {
      throw ConfigError(e.what());
    }
  }

  std::string to_json_text() const { return write(report::write_json); }
  std::string console() const { return write(report::write_console); }
  std::string csv_summary() const { return write(report::write_csv_summary); }
  std::string csv_requests() const { return write(report::write_csv_requests); }

  // [run][request] -> metrics_dict, in the order of the JSON "runs" and "requests".
  nb::list request_metrics() const {
    nb::list runs;
    for (const RunResult& run : r_.runs) {
      nb::list per_run;
      for (const RequestRecord& rec : run.requests) per_run.append(metrics_dict(rec));
      runs.append(per_run);
    }
    return runs;
  }

 private:
  std::string write(void (*writer)(const BenchmarkResult&, std::ostream&)) const {
    std::ostringstream out;
    writer(r_, out);
    return out.str();
  }

  BenchmarkResult r_;
};

// Engine metrics scraping, as Benchmark(scrape_metrics=True, ...) writes it: metrics_url,
// interval_s, gpu, gpu_metrics_url.
session::ObserveOptions observe_from_json_text(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw ConfigError("internal: the observe options are not a JSON object.");
  session::ObserveOptions o;
  o.metrics_url = j.value("metrics_url", std::string());
  o.interval = static_cast<Nanos>(j.value("interval_s", 1.0) * 1e9);
  o.gpu = j.value("gpu", true);
  o.gpu_metrics_url = j.value("gpu_metrics_url", std::string());
  return o;
}

// One benchmark running on its own C++ thread (see the top of this file).
class Run {
 public:
  Run(const std::string& config_json, const std::string& api_key,
      const std::optional<std::string>& sim_json,
      const std::optional<std::string>& launch_json = std::nullopt,
      const std::optional<std::string>& observe_json = std::nullopt)
      : session_(make_options(config_json, api_key, sim_json, launch_json, observe_json), clock_) {}

  ~Run() {
    if (thread_.joinable()) {
      session_.stop("the Python run object was discarded");
      thread_.join();  // the run thread never needs the GIL, so holding it here cannot deadlock
    }
  }

  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  void start() {
    if (thread_.joinable() || finished_) throw std::logic_error("this run was already started");
    // The run's threads inherit this thread's signal mask: block SIGINT/SIGTERM while creating it
    // so that Ctrl-C always reaches Python's handler on the main thread, never a worker.
    sigset_t block, previous;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &previous);
    origin_ = clock_.now();
    try {
      thread_ = std::thread([this] { body(); });
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

  // Waits up to timeout_s for a queued event or the end of the run. True when there is something
  // to drain or the run has ended.
  bool wait(double timeout_s) {
    std::unique_lock lock(mutex_);
    const auto timeout = std::chrono::duration<double>(std::max(0.0, timeout_s));
    return cv_.wait_for(lock, timeout, [this] { return finished_ || !queue_.empty(); });
  }

  bool finished() {
    std::lock_guard lock(mutex_);
    return finished_ && queue_.empty();
  }

  // Every queued event, oldest first: ("record", dict) or ("log", str).
  nb::list drain() {
    std::deque<Event> events;
    {
      std::lock_guard lock(mutex_);
      events.swap(queue_);
    }
    nb::list out;
    for (const Event& e : events) {
      if (const auto* rec = std::get_if<RequestRecord>(&e)) {
        nb::dict d = record_dict(*rec, origin_);
        d["metrics"] = metrics_dict(*rec);
        out.append(nb::make_tuple("record", d));
      } else {
        out.append(nb::make_tuple("log", std::get<std::string>(e)));
      }
    }
    return out;
  }

  void stop(const std::string& reason) { session_.stop(reason); }

  // After the run has ended: the result, or the error that prevented it.
  Result result() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    if (!finished_) throw std::logic_error("the run has not finished");
    if (taken_) throw std::logic_error("the result was already taken");
    if (!error_.empty()) {
      if (session_error_) throw session::SessionError(error_);
      throw std::runtime_error(error_);
    }
    taken_ = true;
    return Result(std::move(result_));
  }

 private:
  using Event = std::variant<RequestRecord, std::string>;

  session::SessionOptions make_options(const std::string& config_json, const std::string& api_key,
                                       const std::optional<std::string>& sim_json,
                                       const std::optional<std::string>& launch_json,
                                       const std::optional<std::string>& observe_json) {
    session::SessionOptions o;
    o.config = config_from_json_text(config_json, api_key);
    if (sim_json) o.embedded_sim = sim_from_json_text(*sim_json);
    if (launch_json) o.managed_engine = launch_from_json_text(*launch_json);
    if (observe_json) {
      // Also carries "scrape" (false: profile only) and the engine profiler's "profile",
      // "profile_dir" (Benchmark(profile=..., profile_dir=...)).
      const auto j = nlohmann::json::parse(*observe_json, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("scrape", true)) o.observe = observe_from_json_text(*observe_json);
      if (j.is_object()) {
        o.profile.enabled = j.value("profile", false);
        o.profile.output_dir = j.value("profile_dir", std::string());
        o.profile.window_from = static_cast<Nanos>(j.value("profile_from_s", 0.0) * 1e9);
        o.profile.window_to = static_cast<Nanos>(j.value("profile_to_s", 0.0) * 1e9);
      }
    }
    o.log = [this](const std::string& line) { push(line); };
    o.on_record = [this](const RequestRecord& r) { push(r); };
    return o;
  }

  template <class T>
  void push(T&& item) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::forward<T>(item));
    }
    cv_.notify_all();
  }

  void body() {
    BenchmarkResult result;
    std::string error;
    bool session_error = false;
    try {
      result = session_.run();
    } catch (const session::SessionError& e) {
      error = e.what();
      session_error = true;
    } catch (const std::exception& e) {
      error = std::string("the benchmark failed: ") + e.what();
    }
    {
      std::lock_guard lock(mutex_);
      result_ = std::move(result);
      error_ = std::move(error);
      session_error_ = session_error;
      finished_ = true;
    }
    cv_.notify_all();
  }

  MonotonicClock clock_;
  session::Session session_;
  Nanos origin_ = 0;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Event> queue_;        // guarded by mutex_
  bool finished_ = false;          // guarded by mutex_
  bool taken_ = false;             // guarded by mutex_
  BenchmarkResult result_;         // guarded by mutex_; valid once finished_
  std::string error_;              // guarded by mutex_
  bool session_error_ = false;     // guarded by mutex_
};

// validate() and the simulator's checks, without starting anything. Empty when usable.
std::string check(const std::string& config_json, const std::string& api_key,
                  const std::optional<std::string>& sim_json,
                  const std::optional<std::string>& launch_json) {
  RunConfig config = config_from_json_text(config_json, api_key);
  if (launch_json) {
    const session::ManagedEngine m = launch_from_json_text(*launch_json);
    // The session points the run at the engine once it serves.
    config.target.base_url = "http://127.0.0.1:1";
    if (config.prompts.empty() && m.spec.engine == launch::Engine::sim)
      config.prompts = session::default_sim_prompts();
  }
  if (sim_json) {
    sim::SimConfig sc = sim_from_json_text(*sim_json);
    if (auto err = sim::validate(sc); !err.empty()) return err;
    // The session fills these in for the embedded simulator.
    config.target.base_url = "http://127.0.0.1:1";
    if (config.prompts.empty()) config.prompts = session::default_sim_prompts();
  }
  return validate(config);
}

// The Python API's workload options (`splleed run`'s names with underscores: dataset,
// dataset_format, input_len, ...; values as JSON scalars) built into the "config" fields that carry
// a workload: prompts, prompt_max_tokens, prompt_messages, prompt_input_tokens, conversations,
// think_time_s and workload (the identity). Errors name the option as workload.<key>.
// tokenizer "server" (session::kServerTokenizer) counts with the target of `config_json` (the
// rest of the Benchmark's "config", read as check() reads it) and `api_key`.
std::string workload_config(const std::string& options_json, const std::string& tokenizer_path,
                            const std::vector<std::string>& prompts, std::uint64_t seed,
                            std::int32_t max_tokens, const std::string& config_json,
                            const std::string& api_key) {
  json options = json::parse(options_json, nullptr, /*allow_exceptions=*/false);
  if (options.is_discarded() || !options.is_object())
    throw ConfigError("workload must be a dict of options.");
  workload::WorkloadSpec spec;
  spec.seed = seed;
  spec.prompts = prompts;
  for (const auto& [key, value] : options.items()) {
    if (key == "seed" || key == "prompt")
      throw ConfigError("workload." + key + ": give it as the Benchmark's " +
                        (key == "seed" ? "seed" : "prompts") + " argument.");
    const std::string text = value.is_string()    ? value.get<std::string>()
                             : value.is_boolean() ? (value.get<bool>() ? "true" : "false")
                                                  : value.dump();
    try {
      workload::set_option(spec, key, text);
    } catch (const workload::WorkloadError& e) {
      std::string message = e.what();
      const auto colon = message.find(": ");
      if (message.rfind("--", 0) == 0 && colon != std::string::npos) message.erase(0, colon + 2);
      throw ConfigError("workload." + key + ": " + message + ".");
    }
  }
  workload::Workload built;
  try {
    if (tokenizer_path == session::kServerTokenizer) {
      const RunConfig target_config = config_from_json_text(config_json, api_key);
      if (target_config.target.base_url.empty())
        throw ConfigError("tokenizer: \"server\" asks the target's tokenize endpoint while the "
                          "Benchmark is built, so it needs a running server (an OpenAIConfig "
                          "endpoint), not a simulator or a launched engine.");
      const auto tok = session::make_server_tokenizer(target_config.target);
      built = workload::build_workload(spec, tok.get());
    } else {
      built = workload::build_for_run(std::move(spec), tokenizer_path);
    }
  } catch (const ConfigError&) {
    throw;
  } catch (const tokenizer::TokenizerError& e) {
    throw ConfigError(std::string("tokenizer: ") + e.what() + ".");
  } catch (const std::exception& e) {
    throw ConfigError(std::string("workload: ") + e.what() + ".");
  }
  BenchmarkResult r;
  r.config.sampling.max_tokens = max_tokens;
  workload::apply_to_run(built, r.config);
  const json config = report::to_json(r)["config"];
  json out = json::object();
  for (const char* key : {"prompts", "prompt_max_tokens", "prompt_messages", "prompt_input_tokens",
                          "conversations", "think_time_s", "workload"})
    if (config.contains(key)) out[key] = config[key];
  return out.dump();
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "C++ core of splleed: runs benchmarks and writes reports.";
  m.attr("__version__") = kVersion;
  m.attr("build_commit") = kBuildCommit;

  nb::exception<ConfigError>(m, "ConfigError", PyExc_ValueError);
  nb::exception<session::SessionError>(m, "SessionError", PyExc_RuntimeError);

  m.def("check", &check, "config_json"_a, "api_key"_a, "sim_json"_a.none(),
        "launch_json"_a.none() = nb::none(),
        "validate() of the configuration (and of the simulator's): '' when usable, otherwise one "
        "sentence naming the offending option.");
  m.def("workload_config", &workload_config, "options_json"_a, "tokenizer"_a, "prompts"_a,
        "seed"_a, "max_tokens"_a, "config_json"_a = "", "api_key"_a = "",
        "Builds a workload from its options and returns the config fields that carry it (JSON).");
  m.def("default_sim_prompts", &session::default_sim_prompts,
        "Prompts used against the embedded simulator when none are given.");
  m.def(
      "canonical_config",
      [](const std::string& config_json, const std::string& api_key) {
        BenchmarkResult r;
        r.config = config_from_json_text(config_json, api_key);
        return report::to_json(r)["config"].dump();
      },
      "config_json"_a, "api_key"_a,
      "The configuration as the results JSON writes it (the API key redacted).");

  nb::class_<Result>(m, "Result")
      .def_static("from_json", &Result::from_json_text, "text"_a,
                  "Reads a results JSON document (report::from_json).")
      .def("to_json", &Result::to_json_text, nb::call_guard<nb::gil_scoped_release>(),
           "The results JSON exactly as `splleed run --json` writes it.")
      .def("console", &Result::console, nb::call_guard<nb::gil_scoped_release>(),
           "The console tables of `splleed run`.")
      .def("csv_summary", &Result::csv_summary, nb::call_guard<nb::gil_scoped_release>(),
           "The summary CSV of `splleed run --csv`.")
      .def("csv_requests", &Result::csv_requests, nb::call_guard<nb::gil_scoped_release>(),
           "The per-request CSV of `splleed run --csv`.")
      .def("request_metrics", &Result::request_metrics,
           "Per-request metrics in ms, as [run][request] dicts.");

  nb::class_<Run>(m, "Run")
      .def(nb::init<const std::string&, const std::string&, const std::optional<std::string>&,
                    const std::optional<std::string>&, const std::optional<std::string>&>(),
           "config_json"_a, "api_key"_a, "sim_json"_a.none(), "launch_json"_a.none() = nb::none(),
           "observe_json"_a.none() = nb::none())
      .def("start", &Run::start, "Starts the benchmark on a C++ thread.")
      .def("wait", &Run::wait, "timeout_s"_a, nb::call_guard<nb::gil_scoped_release>(),
           "Waits (without the GIL) for an event or the end; True when there is something.")
      .def("finished", &Run::finished, "True once the run has ended and every event was drained.")
      .def("drain", &Run::drain, "Queued events: ('record', dict) or ('log', str), oldest first.")
      .def("stop", &Run::stop, "reason"_a, nb::call_guard<nb::gil_scoped_release>(),
           "Asks the run to stop; in-flight requests end as incomplete.")
      .def("result", &Run::result, nb::call_guard<nb::gil_scoped_release>(),
           "The finished result; raises SessionError when the run could not start.");
}
