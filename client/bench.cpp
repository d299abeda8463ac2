#include "bench.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "common/buffer.h"
#include "common/line_codec.h"
#include "common/unique_fd.h"
#include "common/units.h"
#include "common/ws_decoder.h"
#include "common/ws_frame.h"
#include "connect.h"
#include "i18n.h"
#include "ws_client.h"

namespace pisock {

namespace {

// Distinct message bodies per run; message i uses body i % kTemplates, so a reply that is
// lost, repeated or out of order does not match.
constexpr std::size_t kTemplates = 61; // prime: no alignment with pipeline depths

std::uint64_t nowNs()
{
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now().time_since_epoch())
                                              .count());
}

struct Templates {
    std::vector<std::string> wire; // what is sent
    std::vector<std::string> reply; // what must come back (line mode: without the '\n')

    explicit Templates(const BenchOptions &o)
    {
        std::uint32_t state = 0x9e3779b9u;
        for (std::size_t t = 0; t < kTemplates; ++t) {
            std::string body(o.size, '\0');
            for (auto &c : body) {
                state = state * 1664525u + 1013904223u; // LCG: cheap and repeatable
                // Echo is binary-safe: any byte. Line mode: printable, never '\n'.
                c = o.mode == BenchOptions::Mode::Echo
                            ? static_cast<char>(state >> 24)
                            : static_cast<char>('!' + (state >> 24) % 94);
            }
            if (o.mode == BenchOptions::Mode::Echo) {
                wire.push_back(o.target.webSocket ? frame(ws::Opcode::Binary, body, state) : body);
                reply.push_back(body);
            } else {
                wire.push_back(o.target.webSocket ? frame(ws::Opcode::Text, body, state)
                                                  : body + "\n");
                reply.push_back(o.prefix + body);
            }
        }
    }

    // A ws:// target: each message is one masked frame, built once per template with a mask
    // of its own (a load generator may reuse its frames; the server unmasks each as usual).
    static std::string frame(ws::Opcode op, const std::string &body, std::uint32_t seed)
    {
        const ws::Mask mask{ static_cast<std::uint8_t>(seed), static_cast<std::uint8_t>(seed >> 8),
                             static_cast<std::uint8_t>(seed >> 16),
                             static_cast<std::uint8_t>(seed >> 24) };
        std::string wire(ws::kMaxHeader + body.size(), '\0');
        const std::size_t head = ws::writeHeader(wire.data(), op, body.size(), true, &mask);
        std::memcpy(wire.data() + head, body.data(), body.size());
        ws::applyMask(wire.data() + head, body.size(), mask);
        wire.resize(head + body.size());
        return wire;
    }
};

// One benchmark connection: owns its socket, what it still has to send, what it received and
// not yet matched, and the send times of the messages in flight (a ring of -P slots).
struct Conn {
    UniqueFd fd;
    std::string out;
    std::size_t outPos = 0;
    Buffer in;
    LineCodec codec{ Framing::Line, 1 << 30 };
    std::optional<ws::Decoder> ws; // a ws:// target: the server's frames
    std::vector<std::uint64_t> sentAt; // ring
    std::size_t ringHead = 0;
    std::size_t inFlight = 0;
    std::uint64_t nextToSend = 0;
    std::uint64_t nextReply = 0;
    std::uint64_t lastProgressNs = 0;
    bool wantOut = false;
    bool dead = false;
};

class Runner
{
public:
    explicit Runner(const BenchOptions &o)
        : o_(o), templates_(o), epoll_(::epoll_create1(EPOLL_CLOEXEC))
    {
    }

    BenchResult run();

private:
    void fail(Conn &c, std::size_t index, int status, const std::string &why);
    void queueMessages(Conn &c);
    void flush(Conn &c, std::size_t index);
    void onReadable(Conn &c, std::size_t index);
    void readFrames(Conn &c, std::size_t index);
    void onReply(Conn &c, std::size_t index, std::string_view reply, std::size_t wireBytes);
    void setWantOut(Conn &c, std::size_t index, bool want);
    void progress();
    bool connectAll();
    void dispatch(const std::vector<epoll_event> &events, int n);
    bool timeOutSilent(std::uint64_t timeoutNs);

    const BenchOptions &o_;
    Templates templates_;
    UniqueFd epoll_;
    std::vector<Conn> conns_;
    BenchResult r_;
    std::uint64_t now_ = 0;
    std::uint64_t startNs_ = 0;
    std::uint64_t measureFromNs_ = 0;
    std::uint64_t measureToNs_ = UINT64_MAX; // set when the measured part ends
    std::uint64_t lastProgressNs_ = 0;
    std::uint64_t lastProgressCount_ = 0;
    bool sending_ = true;
};

void Runner::fail(Conn &c, std::size_t index, int status, const std::string &why)
{
    ++r_.errors;
    if (r_.status == kStatusOk)
        r_.status = status;
    if (r_.firstError.empty())
        r_.firstError = trf("connection {number}: {error}", fmt::arg("number", index + 1),
                            fmt::arg("error", why));
    c.dead = true;
    c.inFlight = 0;
    c.fd.reset();
}

void Runner::queueMessages(Conn &c)
{
    while (sending_ && c.inFlight < o_.pipeline) {
        c.out += templates_.wire[static_cast<std::size_t>(c.nextToSend % kTemplates)];
        c.sentAt[(c.ringHead + c.inFlight) % o_.pipeline] = now_;
        ++c.inFlight;
        ++c.nextToSend;
    }
}

void Runner::setWantOut(Conn &c, std::size_t index, bool want)
{
    if (c.wantOut == want)
        return;
    c.wantOut = want;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    ev.data.u64 = index;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
}

void Runner::flush(Conn &c, std::size_t index)
{
    while (c.outPos < c.out.size()) {
        const ssize_t n =
                ::send(c.fd.get(), c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                break;
            if (errno == EINTR)
                continue;
            fail(c, index, kStatusNetwork,
                 trf("send: {reason}", fmt::arg("reason", localErrnoText(errno))));
            return;
        }
        c.outPos += static_cast<std::size_t>(n);
    }
    if (c.outPos == c.out.size()) {
        c.out.clear();
        c.outPos = 0;
    }
    setWantOut(c, index, c.outPos < c.out.size() || !c.out.empty());
}

void Runner::onReply(Conn &c, std::size_t index, std::string_view reply, std::size_t wireBytes)
{
    if (c.inFlight == 0) {
        fail(c, index, kStatusBadReply, tr("a reply to a message never sent"));
        return;
    }
    if (reply != templates_.reply[static_cast<std::size_t>(c.nextReply % kTemplates)]) {
        fail(c, index, kStatusBadReply,
             trf("reply {number} differs from what was sent", fmt::arg("number", c.nextReply + 1)));
        return;
    }
    const std::uint64_t sent = c.sentAt[c.ringHead];
    c.ringHead = (c.ringHead + 1) % o_.pipeline;
    --c.inFlight;
    ++c.nextReply;
    c.lastProgressNs = now_;
    if (now_ >= measureFromNs_ && now_ < measureToNs_ &&
        (o_.count == 0 || r_.messages < o_.count)) {
        ++r_.messages;
        r_.replyBytes += wireBytes;
        r_.latencyNs.record(now_ - sent);
        if (o_.count > 0 && r_.messages >= o_.count) {
            sending_ = false; // replies still in flight are not counted
        }
    }
}

void Runner::onReadable(Conn &c, std::size_t index)
{
    for (;;) {
        auto span = c.in.writable(64 * kKiB);
        const ssize_t n = ::recv(c.fd.get(), span.data(), span.size(), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            if (c.inFlight > 0 || sending_) {
                if (n == 0)
                    fail(c, index, kStatusClosedEarly, tr("server closed the connection"));
                else
                    fail(c, index, kStatusNetwork,
                         trf("recv: {reason}", fmt::arg("reason", localErrnoText(errno))));
            } else {
                c.fd.reset();
                c.dead = true;
            }
            return;
        }
        c.in.commit(static_cast<std::size_t>(n));
        if (c.ws) {
            readFrames(c, index);
        } else if (o_.mode == BenchOptions::Mode::Echo) {
            while (!c.dead && c.in.readable() >= o_.size) {
                onReply(c, index, { c.in.data(), o_.size }, o_.size);
                c.in.consume(o_.size);
            }
        } else {
            std::string_view line;
            while (!c.dead && c.codec.next(c.in, line) == LineCodec::Result::Message)
                onReply(c, index, line, line.size() + 1);
        }
        if (c.dead)
            return;
        if (static_cast<std::size_t>(n) < span.size())
            break; // drained
    }
    queueMessages(c);
    flush(c, index);
}

// A ws:// target: each text or binary message is one reply.
void Runner::readFrames(Conn &c, std::size_t index)
{
    while (!c.dead) {
        const ws::Event e = c.ws->next(c.in);
        switch (e.kind) {
        case ws::Event::Kind::NeedMore:
            return;
        case ws::Event::Kind::Text:
        case ws::Event::Kind::Binary:
            onReply(c, index, e.payload,
                    ws::headerSize(e.payload.size(), false) + e.payload.size());
            break;
        case ws::Event::Kind::Ping:
        case ws::Event::Kind::Pong:
            break;
        case ws::Event::Kind::Close:
            fail(c, index, kStatusClosedEarly,
                 trf("server closed the WebSocket ({code})", fmt::arg("code", e.code)));
            return;
        case ws::Event::Kind::Error:
            fail(c, index, kStatusBadReply,
                 trf("bad WebSocket frame: {reason}", fmt::arg("reason", e.reason)));
            return;
        }
    }
}

void Runner::progress()
{
    if (!o_.progress || now_ - lastProgressNs_ < 1000000000ull)
        return;
    const double dt = static_cast<double>(now_ - lastProgressNs_) / 1e9;
    const double rate = static_cast<double>(r_.messages - lastProgressCount_) / dt;
    const double elapsed = static_cast<double>(now_ - startNs_) / 1e9;
    std::fprintf(stderr, "\r\033[K%6.1fs %s %12.0f msgs/s  p99 %8.1f us  errors %llu", elapsed,
                 now_ < measureFromNs_ ? "warm-up " : "measured",
                 now_ < measureFromNs_ ? 0.0 : rate,
                 static_cast<double>(r_.latencyNs.percentile(0.99)) / 1e3,
                 static_cast<unsigned long long>(r_.errors));
    lastProgressNs_ = now_;
    lastProgressCount_ = r_.messages;
}

// Resolves the target once (500 connections do not ask DNS 500 times) and opens every
// connection; false, with the error in r_, if one cannot be opened.
bool Runner::connectAll()
{
    Failure failure;
    const auto addresses = resolve(o_.target, AF_UNSPEC, failure);
    if (!addresses) {
        r_.status = failure.status;
        r_.firstError = failure.reason;
        return false;
    }
    const auto timeout = std::chrono::milliseconds(static_cast<long long>(o_.timeoutSec * 1000));
    conns_.resize(o_.connections);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        conns_[i].fd = connectAny(*addresses, timeout, o_.target.toString(), failure);
        if (!conns_[i].fd) {
            r_.status = failure.status;
            r_.firstError = failure.reason;
            return false;
        }
        if (o_.target.webSocket) {
            if (!wsHandshake(conns_[i].fd.get(), o_.target, timeout, conns_[i].in, failure)) {
                r_.status = failure.status;
                r_.firstError = failure.reason;
                return false;
            }
            conns_[i].ws.emplace(ws::Role::Client, std::size_t{ 1 } << 30);
        }
        conns_[i].sentAt.resize(o_.pipeline);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = i;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conns_[i].fd.get(), &ev);
    }
    return true;
}

void Runner::dispatch(const std::vector<epoll_event> &events, int n)
{
    for (int k = 0; k < n; ++k) {
        const epoll_event &ev = events[static_cast<std::size_t>(k)];
        const auto i = static_cast<std::size_t>(ev.data.u64);
        Conn &c = conns_[i];
        if (c.dead)
            continue;
        if (ev.events & EPOLLOUT)
            flush(c, i);
        if (!c.dead && (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
            onReadable(c, i);
    }
}

// Fails the connections waiting for a reply for longer than timeoutNs; true if any is waiting.
bool Runner::timeOutSilent(std::uint64_t timeoutNs)
{
    bool busy = false;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        Conn &c = conns_[i];
        if (c.dead || c.inFlight == 0)
            continue;
        busy = true;
        if (now_ - c.lastProgressNs > timeoutNs) {
            fail(c, i, kStatusTimeout,
                 trf("no reply for {seconds:.1f} s", fmt::arg("seconds", o_.timeoutSec)));
        }
    }
    return busy;
}

BenchResult Runner::run()
{
    if (!epoll_) {
        r_.status = kStatusNetwork;
        r_.firstError = trf("epoll_create1: {reason}", fmt::arg("reason", localErrnoText(errno)));
        return std::move(r_);
    }
    if (!connectAll())
        return std::move(r_);

    now_ = startNs_ = lastProgressNs_ = nowNs();
    measureFromNs_ = startNs_ + static_cast<std::uint64_t>(o_.warmupSec * 1e9);
    const std::uint64_t hardStop =
            measureFromNs_ + static_cast<std::uint64_t>((o_.count ? 3600.0 : o_.durationSec) * 1e9);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
        conns_[i].lastProgressNs = now_;
        queueMessages(conns_[i]);
        flush(conns_[i], i);
    }

    std::uint64_t drainUntil = 0;
    std::vector<epoll_event> events(256);
    const auto timeoutNs = static_cast<std::uint64_t>(o_.timeoutSec * 1e9);
    for (;;) {
        const int n =
                ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 100);
        now_ = nowNs();
        dispatch(events, n);
        if (sending_ && now_ >= hardStop)
            sending_ = false;
        if (!sending_ && drainUntil == 0) {
            measureToNs_ = std::min(measureToNs_, now_);
            drainUntil = now_ + timeoutNs;
        }
        const bool busy = timeOutSilent(timeoutNs);
        progress();
        if (!sending_ && (!busy || now_ >= drainUntil))
            break;
        if (std::all_of(conns_.begin(), conns_.end(), [](const Conn &c) { return c.dead; }))
            break;
    }
    if (o_.progress)
        std::fputs("\r\033[K", stderr);
    const std::uint64_t end = measureToNs_ == UINT64_MAX ? now_ : measureToNs_;
    r_.seconds = end > measureFromNs_ ? static_cast<double>(end - measureFromNs_) / 1e9 : 0;
    return std::move(r_);
}

std::string formatNs(std::uint64_t ns)
{
    if (ns < 10000)
        return fmt::format("{} ns", ns);
    if (ns < 10000000)
        return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
    return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
}

} // namespace

BenchResult runBench(const BenchOptions &options)
{
    Runner runner(options);
    return runner.run();
}

int runBenchCommand(const BenchOptions &options)
{
    const BenchResult r = runBench(options);
    if (r.status != kStatusOk && r.messages == 0 && r.errors == 0) {
        std::fprintf(stderr, "pisock bench: %s\n", r.firstError.c_str());
        return r.status;
    }
    const std::string report = options.json ? formatBenchJson(options, r)
                                            : formatBenchText(options, r);
    std::fputs(report.c_str(), stdout);
    if (r.status != kStatusOk)
        std::fprintf(stderr, "pisock bench: %s\n", r.firstError.c_str());
    else if (r.messages == 0) {
        std::fprintf(stderr, "pisock bench: %s\n",
                     tr("no reply was measured (duration too short?)"));
        return kStatusTimeout;
    }
    return r.status;
}

std::string formatBenchText(const BenchOptions &o, const BenchResult &r)
{
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    const double mib =
            r.seconds > 0 ? static_cast<double>(r.replyBytes) / r.seconds / (1024.0 * 1024.0) : 0;
    const auto &h = r.latencyNs;
    std::string s =
            fmt::format("target     {} ({} mode), {} connections, {} B messages, pipeline {}\n",
                        o.target.toString(), o.mode == BenchOptions::Mode::Echo ? "echo" : "line",
                        o.connections, o.size, o.pipeline);
    s += fmt::format("measured   {:.2f} s after {:.1f} s of warm-up\n", r.seconds, o.warmupSec);
    s += fmt::format("messages   {}  ({:.0f} msgs/s, {:.2f} MiB/s of replies)\n", r.messages, rate,
                     mib);
    s += fmt::format("latency    p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                     formatNs(h.percentile(0.5)), formatNs(h.percentile(0.9)),
                     formatNs(h.percentile(0.99)), formatNs(h.percentile(0.999)),
                     formatNs(h.max()));
    s += fmt::format("errors     {}{}\n", r.errors,
                     r.firstError.empty() ? "" : " (first: " + r.firstError + ")");
    return s;
}

std::string formatBenchJson(const BenchOptions &o, const BenchResult &r)
{
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    const double mib =
            r.seconds > 0 ? static_cast<double>(r.replyBytes) / r.seconds / (1024.0 * 1024.0) : 0;
    const auto &h = r.latencyNs;
    std::string err;
    for (char c : r.firstError) {
        if (c == '"' || c == '\\')
            err += '\\';
        if (static_cast<unsigned char>(c) >= 0x20)
            err += c;
    }
    return fmt::format(
            "{{\"target\":\"{}\",\"mode\":\"{}\",\"connections\":{},\"size\":{},\"pipeline\":{},"
            "\"warmup_s\":{},\"seconds\":{:.3f},\"messages\":{},\"msgs_per_s\":{:.1f},"
            "\"mib_per_s\":{:.3f},\"latency_us\":{{\"p50\":{:.1f},\"p90\":{:.1f},\"p99\":{:.1f},"
            "\"p99_9\":{:.1f},\"max\":{:.1f}}},\"errors\":{},\"first_error\":\"{}\"}}\n",
            o.target.toString(), o.mode == BenchOptions::Mode::Echo ? "echo" : "line",
            o.connections, o.size, o.pipeline, o.warmupSec, r.seconds, r.messages, rate, mib,
            static_cast<double>(h.percentile(0.5)) / 1e3,
            static_cast<double>(h.percentile(0.9)) / 1e3,
            static_cast<double>(h.percentile(0.99)) / 1e3,
            static_cast<double>(h.percentile(0.999)) / 1e3, static_cast<double>(h.max()) / 1e3,
            r.errors, err);
}

} // namespace pisock
