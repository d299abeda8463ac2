#pragma once

#include <cstdint>
#include <string>

#include "common/address.h"
#include "histogram.h"
#include "status.h"

namespace pisock {

// What `pisock bench` is asked to do.
struct BenchOptions {
    enum class Mode { Line, Echo };

    Endpoint target{ Endpoint::Kind::Inet, "127.0.0.1", 8888, {} };
    unsigned connections = 50; // -c
    std::size_t size = 64; // -s: message payload bytes (line mode: without the '\n')
    unsigned pipeline = 1; // -P: messages in flight per connection
    double durationSec = 10; // -d: measured time, after the warm-up
    std::uint64_t count = 0; // -n: measured messages instead of a duration (0: use -d)
    double warmupSec = 1; // --warmup: replies not counted
    Mode mode = Mode::Line; // line: "<prefix>M\n" replies; echo: bytes back
    std::string prefix = "server rec: ";
    double timeoutSec = 5; // a connection with no reply for this long is an error
    bool json = false;
    bool progress = false; // a progress line on stderr each second
};

struct BenchResult {
    std::uint64_t messages = 0; // measured replies, all checked
    std::uint64_t replyBytes = 0; // measured reply bytes
    double seconds = 0; // measured time
    std::uint64_t errors = 0; // wrong replies, dropped connections, timeouts
    std::string firstError; // what went wrong first, if anything
    int status = kStatusOk; // pisock's exit status for what went wrong first
    Histogram latencyNs;
};

// Runs the benchmark; never throws. The Histogram counts nanoseconds.
BenchResult runBench(const BenchOptions &options);
// `pisock bench`: runs it, prints the report (or JSON), returns the exit status: 0 when every
// reply was right, else that of the first problem (1 network, 3 timeout, 4 closed early,
// 5 wrong reply).
int runBenchCommand(const BenchOptions &options);
// "messages 123 (...)", latency percentiles, errors: the human report.
std::string formatBenchText(const BenchOptions &options, const BenchResult &result);
std::string formatBenchJson(const BenchOptions &options, const BenchResult &result);

} // namespace pisock
