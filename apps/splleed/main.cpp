// splleed command line: `splleed run ...` benchmarks a server, `splleed sim ...` serves the
// simulated engine. Exit codes: 0 done, 1 the run finished but could not write its outputs,
// 2 bad options or unusable target (nothing was sent), 130 interrupted (outputs still written).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "compare_command.hpp"
#include "launch_options.hpp"
#include "load/trace.hpp"
#include "report/reporters.hpp"
#include "session/explore.hpp"
#include "session/session.hpp"
#include "splleed/version.hpp"
#include "workload_options.hpp"

namespace {

using namespace splleed;

// Blocks SIGINT/SIGTERM in every thread and handles them on one thread with sigwait, so the
// handler may lock and call into the runner (a plain signal handler may not).
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR2);  // internal: tells the watcher to quit
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR2) return;
        on_signal_(sig);
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  sigset_t set_{};
  std::function<void(int)> on_signal_;
  std::thread thread_;
};

// Thousands of concurrent streams need as many sockets: lift the soft limit to the hard one.
void raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Blocks the signals SignalWatcher handles before any thread starts, so every thread inherits the
// mask and only the watcher's sigwait ever sees them.
void block_handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string signal_name(int sig) { return sig == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM"; }

// Writes `path` through a temporary file and a rename, so a crash never leaves half a file.
bool write_file(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      std::cerr << "splleed: cannot write " << path << ": " << std::strerror(errno) << "\n";
      return false;
    }
    writer(out);
    out.flush();
    if (!out) {
      std::cerr << "splleed: writing " << path << " failed: " << std::strerror(errno) << "\n";
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::cerr << "splleed: cannot write " << path << ": " << ec.message() << "\n";
    return false;
  }
  return true;
}

std::string requests_csv_path(const std::string& csv) {
  std::filesystem::path p(csv);
  auto stem = p.stem().string();
  return (p.parent_path() / (stem + ".requests.csv")).string();
}

struct SimOptions {
  double ttft_ms = 40, itl_ms = 8, prefill_us_per_token = 20, step_us_per_running = 50;
  double jitter = 0, eos_probability = 0;
  std::int32_t max_running = 16, threads = 1;
  std::uint64_t seed = 0;
  std::string model = "splleed-sim", host = "127.0.0.1", send_log, profile_dir;
  std::uint16_t port = 8000;
  std::int64_t kv_tokens = 0;
  bool prefix_cache = false;
  std::int32_t spec_tokens = 0;
  double spec_acceptance = 0;
  std::string metrics_style = "vllm";

  sim::SimConfig to_config() const {
    sim::SimConfig c;
    c.host = host;
    c.port = port;
    c.ttft_ms = ttft_ms;
    c.itl_ms = itl_ms;
    c.prefill_us_per_token = prefill_us_per_token;
    c.step_us_per_running = step_us_per_running;
    c.jitter = jitter;
    c.eos_probability = eos_probability;
    c.max_running = max_running;
    c.threads = threads;
    c.seed = seed;
    c.model = model;
    c.send_log_path = send_log;
    c.profile_dir = profile_dir;
    c.record_send_log = !send_log.empty();
    c.kv_tokens = kv_tokens;
    c.prefix_cache = prefix_cache;
    c.spec_tokens = spec_tokens;
    c.spec_acceptance = spec_acceptance;
    c.metrics_style = metrics_style;
    return c;
  }
};

void add_sim_model_options(CLI::App& app, SimOptions& s, const std::string& prefix) {
  app.add_option("--" + prefix + "ttft-ms", s.ttft_ms, "Simulated engine: base time to first token (ms)")
      ->capture_default_str();
  app.add_option("--" + prefix + "itl-ms", s.itl_ms, "Simulated engine: base decode step (ms)")
      ->capture_default_str();
  app.add_option("--" + prefix + "prefill-us-per-token", s.prefill_us_per_token,
                 "Simulated engine: prefill cost per prompt token (us)")
      ->capture_default_str();
  app.add_option("--" + prefix + "step-us-per-running", s.step_us_per_running,
                 "Simulated engine: decode step cost per running request (us)")
      ->capture_default_str();
  app.add_option("--" + prefix + "max-running", s.max_running,
                 "Simulated engine: requests decoded together; the rest queue")
      ->capture_default_str();
  app.add_option("--" + prefix + "jitter", s.jitter, "Simulated engine: relative jitter of steps")
      ->capture_default_str();
  app.add_option("--" + prefix + "eos-probability", s.eos_probability,
                 "Simulated engine: chance per token of ending early (unless ignore_eos)")
      ->capture_default_str();
  app.add_option("--" + prefix + "kv-tokens", s.kv_tokens,
                 "Simulated engine: KV cache capacity in tokens; beyond it requests are preempted "
                 "(0: unlimited)")
      ->capture_default_str();
  app.add_flag("--" + prefix + "prefix-cache,!--" + prefix + "no-prefix-cache", s.prefix_cache,
               "Simulated engine: cached prompt prefixes (16-token blocks) skip their prefill");
  app.add_option("--" + prefix + "spec-tokens", s.spec_tokens,
                 "Simulated engine: speculative draft tokens per decode step (0: off)")
      ->capture_default_str();
  app.add_option("--" + prefix + "spec-acceptance", s.spec_acceptance,
                 "Simulated engine: chance each draft token is accepted, in turn")
      ->capture_default_str();
  app.add_option("--" + prefix + "metrics-style", s.metrics_style,
                 "Simulated engine: GET /metrics names and format")
      ->check(CLI::IsMember({"vllm", "llamacpp"}))
      ->capture_default_str();
}

// What `run` executes: the configured levels, a sweep, or an SLO search.
struct Plan {
  std::int32_t sweep_points = 0;
  bool slo_search = false;
  bool search_concurrency = false;
  double slo_percentile = 99;
  double search_tolerance = 0.05;
  std::int32_t saturation = 256;
  session::ObserveOptions observe;
  session::ProfileOptions profile;
};

// "FROM:TO" or "FROM:" in seconds, 0 <= FROM < TO.
bool parse_profile_window(const std::string& text, session::ProfileOptions& out, std::string* err) {
  const auto colon = text.find(':');
  auto number = [](std::string_view s, double& v) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v >= 0 && v < 1e6;
  };
  double from = 0, to = 0;
  const std::string_view sv(text);
  const bool ok = colon != std::string::npos && number(sv.substr(0, colon), from) &&
                  (colon + 1 == sv.size() || (number(sv.substr(colon + 1), to) && to > from));
  if (!ok) {
    *err = fmt::format("--profile-window must be FROM:TO or FROM: in seconds with FROM < TO "
                       "(got '{}').", text);
    return false;
  }
  out.window_from = static_cast<Nanos>(from * 1e9);
  out.window_to = static_cast<Nanos>(to * 1e9);
  return true;
}

int run_command(RunConfig config, const std::string& json_path, const std::string& csv_path,
                bool use_sim, const SimOptions& sim_opts, double duration_s, const Plan& plan,
                std::optional<session::ManagedEngine> managed) {
  if (duration_s > 0) config.load.duration = static_cast<Nanos>(duration_s * 1e9);
  block_handled_signals();
  MonotonicClock clock;
  session::SessionOptions options;
  options.config = std::move(config);
  if (use_sim) options.embedded_sim = sim_opts.to_config();
  options.log = [](const std::string& line) { std::cerr << "splleed: " << line << "\n"; };
  if (plan.observe.enabled) options.observe = plan.observe;
  options.managed_engine = std::move(managed);
  options.capture_gpus = plan.observe.gpu;
  options.profile = plan.profile;
  session::Session session(std::move(options), clock);
  BenchmarkResult result;
  {
    SignalWatcher signals([&](int sig) { session.stop("interrupted by " + signal_name(sig)); });
    try {
      if (plan.slo_search) {
        result = session::run_slo_search(
            session, {plan.search_concurrency, plan.slo_percentile, plan.search_tolerance,
                      plan.saturation});
      } else if (plan.sweep_points > 0) {
        result = session::run_sweep(session, {plan.sweep_points, plan.saturation});
      } else {
        result = session.run();
      }
    } catch (const session::SessionError& e) {
      std::cerr << "splleed: " << e.what() << "\n";
      return 2;
    }
  }

  report::write_console(result, std::cout);
  std::cout.flush();
  bool wrote = true;
  if (!json_path.empty())
    wrote &= write_file(json_path, [&](std::ostream& o) { report::write_json(result, o); });
  if (!csv_path.empty()) {
    wrote &= write_file(csv_path, [&](std::ostream& o) { report::write_csv_summary(result, o); });
    wrote &= write_file(requests_csv_path(csv_path),
                        [&](std::ostream& o) { report::write_csv_requests(result, o); });
  }
  if (result.interrupted) {
    std::cerr << "splleed: " << result.stop_reason << "; results so far were saved.\n";
    return 130;
  }
  return wrote ? 0 : 1;
}

int sim_command(const SimOptions& opts) {
  block_handled_signals();
  auto config = opts.to_config();
  if (auto err = sim::validate(config); !err.empty()) {
    std::cerr << "splleed sim: " << err << "\n";
    return 2;
  }
  MonotonicClock clock;
  std::promise<int> signalled;
  auto done = signalled.get_future();
  std::once_flag once;
  SignalWatcher signals([&](int sig) { std::call_once(once, [&] { signalled.set_value(sig); }); });
  sim::SimServer server(config, clock);
  try {
    auto port = server.start();
    std::cerr << "splleed sim: serving model '" << config.model << "' on http://" << config.host
              << ":" << port << " (Ctrl-C to stop)\n";
  } catch (const std::exception& e) {
    std::cerr << "splleed sim: " << e.what() << "\n";
    return 2;
  }
  done.wait();
  server.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"splleed: measure how an LLM server behaves under load"};
  app.set_version_flag("--version", std::string("splleed ") + kVersion + " (" + kBuildCommit + ")");
  app.require_subcommand(1);

  // ---- run ----
  auto* run = app.add_subcommand("run", "Benchmark a server (or the embedded simulator with --sim)");
  RunConfig config;
  config.load.num_requests.reset();
  std::string api = "openai-completions", mode = "concurrency", json_path, csv_path;
  std::int64_t num_requests = 0;
  double duration_s = 0, connect_timeout_s = 10, read_timeout_s = 120;
  bool use_sim = false;
  SimOptions sim_opts;
  std::optional<double> temperature, top_p;
  std::optional<std::int32_t> min_tokens;

  run->add_flag("--sim", use_sim, "Start the simulated engine in-process and benchmark it");
  run->add_option("--base-url", config.target.base_url, "Server URL, e.g. http://127.0.0.1:8000");
  run->add_option("--api", api, "Wire API: " + api_names())->capture_default_str();
  run->add_option("--model", config.target.model, "Model name (default: first of /v1/models)");
  run->add_option("--api-key", config.target.api_key,
                  "API key sent as a Bearer token (default: $SPLLEED_API_KEY); never saved")
      ->envname("SPLLEED_API_KEY");
  run->add_flag("--insecure", config.target.insecure, "Do not verify TLS certificates");
  run->add_option("--connect-timeout", connect_timeout_s, "Connect timeout (s)")->capture_default_str();
  run->add_option("--read-timeout", read_timeout_s, "Longest silence within a response (s)")
      ->capture_default_str();
  run->add_option("--mode", mode,
                  "latency (one at a time), concurrency (closed loop) or rate (open loop)")
      ->check(CLI::IsMember({"latency", "concurrency", "rate"}))
      ->capture_default_str();
  std::string arrival = "poisson", ramp_shape = "linear";
  double ramp_up_s = 0, ramp_start_rate = 1;
  std::int32_t max_concurrency = 0;
  run->add_option("--request-rate", config.load.request_rates,
                  "Open loop: requests/s, one level per value (implies --mode rate)")
      ->delimiter(',');
  run->add_option("--arrival", arrival, "Open loop: constant, poisson or gamma")
      ->check(CLI::IsMember({"constant", "poisson", "gamma"}))
      ->capture_default_str();
  run->add_option("--burstiness", config.load.burstiness,
                  "Open loop, gamma arrivals: shape (1 = Poisson, <1 burstier)")
      ->capture_default_str();
  run->add_option("--max-concurrency", max_concurrency,
                  "Open loop: cap on requests in flight; excess waits in the client (recorded)");
  run->add_option("--ramp-up", ramp_up_s,
                  "Open loop: seconds to climb from --ramp-start-rate to the target rate");
  run->add_option("--ramp-start-rate", ramp_start_rate, "Open loop: rate at the ramp's start")
      ->capture_default_str();
  run->add_option("--ramp-shape", ramp_shape, "linear or exponential")
      ->check(CLI::IsMember({"linear", "exponential"}))
      ->capture_default_str();
  run->add_option("--concurrency", config.load.concurrency, "Concurrency levels, e.g. 1,4,16")
      ->delimiter(',')
      ->capture_default_str();
  run->add_option("--num-requests", num_requests, "Measured requests per level");
  run->add_option("--duration", duration_s, "Measurement time per level (s)");
  std::string warmup_text = "0", trace_path;
  double time_scale = 1;
  run->add_option("--warmup", warmup_text,
                  "Warm-up per level, excluded from metrics: a count (20) or a duration (30s)")
      ->capture_default_str();
  run->add_option("--trace", trace_path,
                  "Replay arrivals from a JSONL trace (timestamp ms; prompt or input_length; "
                  "output_length; Mooncake hash_ids)");
  run->add_option("--time-scale", time_scale,
                  "Trace replay: multiply every timestamp by this (0.5 replays twice as fast)")
      ->capture_default_str();
  run->add_option("--seed", config.load.seed, "Seed for every random choice")->capture_default_str();
  run->add_option("--workers", config.load.workers, "Event-loop threads (0: one per core)")
      ->capture_default_str();
  double busy_poll_us = 0;
  run->add_option("--busy-poll-us", busy_poll_us,
                  "Precision mode: with nothing to do, each worker polls this long (us) before it "
                  "sleeps, so reads are seen sooner at the cost of CPU (0: off)")
      ->capture_default_str();
  run->add_option("--prompt", config.prompts, "Prompt text (repeat for several)");
  run->add_option("--max-tokens", config.sampling.max_tokens, "max_tokens per request")
      ->capture_default_str();
  run->add_option("--temperature", temperature, "Sampling temperature");
  run->add_option("--top-p", top_p, "Nucleus sampling top_p");
  run->add_flag("--ignore-eos", config.sampling.ignore_eos, "Ask the engine to ignore EOS");
  run->add_option("--min-tokens", min_tokens, "min_tokens per request");
  run->add_option("--extra-body", config.sampling.extra_body,
                  "JSON object merged into every request body");
  std::string slo_text;
  run->add_option("--trials", config.stats.trials, "Independent runs per load level")
      ->capture_default_str();
  run->add_option("--confidence", config.stats.confidence, "Level of every confidence interval")
      ->capture_default_str();
  run->add_option("--slo", slo_text, "SLOs for goodput, e.g. ttft:500ms,tpot:50ms,e2e:5s");
  std::int32_t sweep_points = 0, saturation = 256;
  bool slo_search = false;
  double slo_percentile = 99, search_tolerance = 0.05;
  run->add_option("--sweep", sweep_points,
                  "Sweep: synchronous and maximum throughput, then this many rates between");
  run->add_flag("--slo-search", slo_search,
                "Find the largest request rate (or, with --mode concurrency, concurrency) that "
                "meets every --slo at --slo-percentile");
  run->add_option("--slo-percentile", slo_percentile, "Percentile the SLO search judges")
      ->capture_default_str();
  run->add_option("--search-tolerance", search_tolerance,
                  "SLO search: stop when the rate bracket is narrower than this fraction")
      ->capture_default_str();
  run->add_option("--saturation", saturation,
                  "Sweep and SLO search: requests in flight in the maximum-throughput run")
      ->capture_default_str();
  bool no_scrape = false, no_gpu = false;
  std::string metrics_url;
  double scrape_interval_s = 1;
  run->add_flag("--no-scrape", no_scrape, "Do not scrape the engine's metrics endpoint");
  run->add_option("--metrics-url", metrics_url,
                  "Engine metrics endpoint (default: the target's base URL + /metrics)");
  run->add_option("--scrape-interval", scrape_interval_s,
                  "Seconds between engine metrics scrapes (at least 0.1)")
      ->capture_default_str();
  run->add_flag("--no-gpu", no_gpu, "Do not read GPU telemetry (NVML)");
  std::string gpu_metrics_url;
  run->add_option("--gpu-metrics-url", gpu_metrics_url,
                  "Read GPU telemetry from this DCGM exporter endpoint instead of local NVML");
  bool profile = false;
  std::string profile_dir;
  run->add_flag("--profile", profile,
                "Run the engine's own profiler (vLLM, SGLang, the simulator) around each "
                "measurement phase; the results say where the trace went");
  std::string profile_window;
  run->add_option("--profile-window", profile_window,
                  "With --profile: profile only FROM:TO seconds after each measurement phase "
                  "starts (e.g. 10:15; 10: runs to the phase's end)");
  run->add_option("--profile-dir", profile_dir,
                  "Folder the engine writes its profile trace to (default with --launch: the "
                  "engine log folder's profile/; with --sim: the --json folder's profile/)");
  run->add_option("--json", json_path, "Write the lossless JSON result here");
  run->add_option("--csv", csv_path, "Write summary CSV here (and per-request NAME.requests.csv)");
  add_sim_model_options(*run, sim_opts, "sim-");
  cli::LaunchCli launch_cli;
  cli::add_launch_options(*run, launch_cli);
  cli::WorkloadCli workload_cli;
  cli::add_workload_options(*run, workload_cli);

  // ---- sim ----
  auto* sim_cmd = app.add_subcommand("sim", "Serve the simulated engine (OpenAI-compatible and the TGI, SGLang, llama.cpp, Ollama and Triton native APIs)");
  SimOptions serve_opts;
  sim_cmd->add_option("--host", serve_opts.host, "Address to listen on")->capture_default_str();
  sim_cmd->add_option("--port", serve_opts.port, "Port (0: any free port)")->capture_default_str();
  sim_cmd->add_option("--model", serve_opts.model, "Model name served")->capture_default_str();
  sim_cmd->add_option("--seed", serve_opts.seed, "Seed for jitter and token text")->capture_default_str();
  sim_cmd->add_option("--threads", serve_opts.threads, "Server threads")->capture_default_str();
  sim_cmd->add_option("--profile-dir", serve_opts.profile_dir,
                      "Folder POST /start_profile writes to when the request names none");
  sim_cmd->add_option("--send-log", serve_opts.send_log,
                      "Write each event's write time (monotonic ns) per request id to this file");
  add_sim_model_options(*sim_cmd, serve_opts, "");

  int compare_exit = 0;
  auto* compare_cmd = cli::add_compare_command(app, compare_exit);

  CLI11_PARSE(app, argc, argv);
  if (*compare_cmd) return compare_exit;
  raise_open_file_limit();

  if (*sim_cmd) return sim_command(serve_opts);

  auto parsed_api = api_from_string(api);
  if (!parsed_api) {
    std::cerr << "splleed: unknown --api '" << api << "'; choose one of: " << api_names() << "\n";
    return 2;
  }
  config.target.api = *parsed_api;
  config.load.mode = *load_mode_from_string(mode);
  if (!config.load.request_rates.empty() && !run->count("--mode")) config.load.mode = LoadMode::rate;
  config.load.arrival = *arrival_from_string(arrival);
  if (!slo_text.empty()) {
    std::string err;
    config.stats.slos = parse_slos(slo_text, &err);
    if (config.stats.slos.empty()) {
      std::cerr << "splleed: " << err << "\n";
      return 2;
    }
  }
  if (run->count("--max-concurrency")) config.load.max_concurrency = max_concurrency;
  if (std::string err; !parse_warmup(warmup_text, config.load, &err)) {
    std::cerr << "splleed: " << err << "\n";
    return 2;
  }
  if (!trace_path.empty()) {
    if (!config.prompts.empty()) {
      std::cerr << "splleed: --trace brings its own prompts; drop --prompt.\n";
      return 2;
    }
    try {
      auto trace = load::read_trace(trace_path, time_scale, config.sampling.max_tokens);
      config.prompts = std::move(trace.prompts);
      config.prompt_max_tokens = std::move(trace.max_tokens);
      config.load.trace = std::move(trace.replay);
      if (!run->count("--mode")) config.load.mode = LoadMode::rate;
    } catch (const std::exception& e) {
      std::cerr << "splleed: " << e.what() << "\n";
      return 2;
    }
  }
  if (run->count("--ramp-up")) {
    config.load.ramp = RampConfig{ramp_start_rate, static_cast<Nanos>(ramp_up_s * 1e9),
                                  ramp_shape == "linear" ? RampShape::linear
                                                         : RampShape::exponential};
  }
  config.sampling.temperature = temperature;
  config.sampling.top_p = top_p;
  config.sampling.min_tokens = min_tokens;
  config.target.connect_timeout = static_cast<Nanos>(connect_timeout_s * 1e9);
  config.load.busy_poll = static_cast<Nanos>(busy_poll_us * 1e3);
  config.target.read_timeout = static_cast<Nanos>(read_timeout_s * 1e9);
  if (run->count("--num-requests")) config.load.num_requests = num_requests;
  if (!run->count("--num-requests") && duration_s <= 0 && !config.load.trace) {
    // Defaults sized so that the embedded benchmark finishes in seconds.
    config.load.num_requests = use_sim ? 32 : 100;
  }
  if (duration_s < 0) {
    std::cerr << "splleed: --duration must be positive (got " << duration_s << ").\n";
    return 2;
  }
  std::string launch_error;
  auto managed = cli::make_managed_engine(launch_cli, *run, config, use_sim, json_path, &launch_error);
  if (!launch_error.empty()) {
    std::cerr << "splleed: " << launch_error << "\n";
    return 2;
  }
  if (use_sim) {
    if (!config.target.base_url.empty()) {
      std::cerr << "splleed: --sim and --base-url exclude each other.\n";
      return 2;
    }
    if (!run->count("--concurrency")) config.load.concurrency = {1, 4, 16};
    if (!run->count("--max-tokens")) config.sampling.max_tokens = 32;
    if (!run->count("--warmup") && !config.load.trace) config.load.warmup = 2;
  }
  if (slo_search && sweep_points > 0) {
    std::cerr << "splleed: --sweep and --slo-search exclude each other.\n";
    return 2;
  }
  if (run->count("--sweep") && sweep_points < 1) {
    std::cerr << "splleed: --sweep needs at least 1 rate between the ends (got " << sweep_points
              << ").\n";
    return 2;
  }
  if (saturation < 1) {
    std::cerr << "splleed: --saturation must be at least 1.\n";
    return 2;
  }
  if (!(scrape_interval_s >= 0.1)) {
    std::cerr << "splleed: --scrape-interval must be at least 0.1 s (got " << scrape_interval_s
              << ").\n";
    return 2;
  }
  if (std::string err; !cli::apply_workload_options(
          workload_cli, config, !trace_path.empty(),
          [](const std::string& line) { std::cerr << "splleed: " << line << "\n"; }, &err)) {
    std::cerr << "splleed: " << err << "\n";
    return 2;
  }
  Plan plan{sweep_points, slo_search,
            slo_search && run->count("--mode") && config.load.mode == LoadMode::concurrency,
            slo_percentile, search_tolerance, saturation,
            session::ObserveOptions{!no_scrape, metrics_url,
                                    static_cast<Nanos>(scrape_interval_s * 1e9), !no_gpu,
                                    gpu_metrics_url}};
  if (!profile && (!profile_dir.empty() || !profile_window.empty())) {
    std::cerr << "splleed: " << (profile_dir.empty() ? "--profile-window" : "--profile-dir")
              << " needs --profile.\n";
    return 2;
  }
  if (!profile_window.empty()) {
    std::string err;
    if (!parse_profile_window(profile_window, plan.profile, &err)) {
      std::cerr << "splleed: " << err << "\n";
      return 2;
    }
  }
  plan.profile.enabled = profile;
  plan.profile.output_dir = profile_dir;
  if (profile && profile_dir.empty() && use_sim && !json_path.empty()) {
    plan.profile.output_dir =
        (std::filesystem::path(json_path).parent_path() / "profile").string();
  }
  return run_command(std::move(config), json_path, csv_path, use_sim, sim_opts, duration_s, plan,
                     std::move(managed));
}
