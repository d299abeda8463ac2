// pisock-soak: many concurrent loopback connections doing round trips against a pisockd in
// reply mode, every reply checked (scripts/soak; a short run is an e2e test). Connections
// come from several 127.0.0.x source addresses so that 10,000 of them need no special port
// range. Exit status 0 only if every connection was established and every reply came back
// right; the last line is a machine-readable summary.

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <vector>

#include "common/unique_fd.h"

using pisock::UniqueFd;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    std::size_t connections = 10000;
    unsigned seconds = 60;
    unsigned sources = 8; // 127.0.0.1 .. 127.0.0.N
    std::size_t connectBatch = 256; // connects in flight at once: the listen queue is finite
    std::string prefix = "server rec: ";
};

struct Conn {
    UniqueFd fd;
    std::uint32_t id = 0;
    std::uint64_t seq = 0;
    std::string expect;
    std::string rx;
    Clock::time_point sentAt;
    bool connected = false;
    bool done = false;
};

struct Stats {
    std::size_t established = 0;
    std::size_t failedConnects = 0;
    std::size_t dropped = 0; // closed by the daemon, or reset
    std::size_t wrong = 0; // a reply that is not the one owed
    std::size_t lost = 0; // no reply by the end
    std::uint64_t roundTrips = 0;
    std::uint64_t windowRoundTrips = 0;
    static constexpr long long kBucketUs = 10;
    std::vector<std::uint32_t> histogram = std::vector<std::uint32_t>(1000000); // 10 us up to 10 s
    double maxMs = 0;

    void record(Clock::duration d)
    {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        const auto bucket = std::min<long long>(us / kBucketUs, 999999);
        ++histogram[static_cast<std::size_t>(bucket)];
        maxMs = std::max(maxMs, static_cast<double>(us) / 1000.0);
    }
    [[nodiscard]] double percentileMs(double p) const
    {
        std::uint64_t total = 0;
        for (auto n : histogram)
            total += n;
        const auto want = static_cast<std::uint64_t>(static_cast<double>(total) * p);
        std::uint64_t seen = 0;
        for (std::size_t bucket = 0; bucket < histogram.size(); ++bucket) {
            seen += histogram[bucket];
            if (seen > want) // the bucket's upper end
                return static_cast<double>((static_cast<long long>(bucket) + 1) * kBucketUs) /
                       1000.0;
        }
        return maxMs;
    }
};

[[noreturn]] void usage(const char *why)
{
    std::fprintf(stderr,
                 "pisock-soak: %s\nusage: pisock-soak --port P [--host 127.0.0.1] "
                 "[--connections 10000] [--seconds 60] [--sources 8] [--prefix 'server rec: ']\n",
                 why);
    std::exit(64);
}

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc)
            usage("missing value");
        const char *v = argv[++i];
        if (arg == "--host")
            o.host = v;
        else if (arg == "--port")
            o.port = static_cast<std::uint16_t>(std::atoi(v));
        else if (arg == "--connections")
            o.connections = static_cast<std::size_t>(std::atol(v));
        else if (arg == "--seconds")
            o.seconds = static_cast<unsigned>(std::atoi(v));
        else if (arg == "--sources")
            o.sources = static_cast<unsigned>(std::clamp(std::atoi(v), 1, 254));
        else if (arg == "--prefix")
            o.prefix = v;
        else
            usage("unknown option");
    }
    if (o.port == 0 || o.connections == 0)
        usage("--port and --connections must be positive");
    return o;
}

void raiseFdLimit(std::size_t want)
{
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur >= want)
        return;
    rlimit wanted{ want, std::max<rlim_t>(want, lim.rlim_max) };
    if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
        std::fprintf(stderr, "pisock-soak: cannot raise RLIMIT_NOFILE to %zu: %s\n", want,
                     std::strerror(errno));
        std::exit(71);
    }
}

class Soak
{
public:
    explicit Soak(const Options &o)
        : o_(o), epoll_(::epoll_create1(EPOLL_CLOEXEC)), conns_(o.connections)
    {
        for (std::size_t i = 0; i < conns_.size(); ++i)
            conns_[i].id = static_cast<std::uint32_t>(i);
    }

    int run();

private:
    void startConnect(Conn &c);
    void onConnected(Conn &c);
    void onReadable(Conn &c);
    void sendNext(Conn &c);
    void finish(Conn &c) { c.done = true; }
    void poll(int timeoutMs);

    const Options &o_;
    UniqueFd epoll_;
    std::vector<Conn> conns_;
    Stats stats_;
    std::size_t connecting_ = 0;
    bool inWindow_ = false;
    bool sending_ = true;
};

void Soak::startConnect(Conn &c)
{
    c.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + c.id % o_.sources); // 127.0.0.1 + k
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(o_.port);
    ::inet_pton(AF_INET, o_.host.c_str(), &to.sin_addr);
    if (!c.fd || ::bind(c.fd.get(), reinterpret_cast<sockaddr *>(&from), sizeof(from)) != 0 ||
        (::connect(c.fd.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) != 0 &&
         errno != EINPROGRESS)) {
        std::fprintf(stderr, "pisock-soak: connection %u: %s\n", c.id, std::strerror(errno));
        ++stats_.failedConnects;
        finish(c);
        return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = c.id;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
    ++connecting_;
}

void Soak::onConnected(Conn &c)
{
    --connecting_;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        std::fprintf(stderr, "pisock-soak: connection %u: %s\n", c.id, std::strerror(err));
        ++stats_.failedConnects;
        finish(c);
        return;
    }
    c.connected = true;
    ++stats_.established;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = c.id;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    sendNext(c);
}

void Soak::sendNext(Conn &c)
{
    if (!sending_) {
        finish(c);
        return;
    }
    std::string message = "c"; // appended: "c" + std::string&& trips GCC 12's -Wrestrict
    message += std::to_string(c.id);
    message += " r";
    message += std::to_string(c.seq++);
    c.expect = o_.prefix + message + "\n";
    const std::string line = message + "\n";
    c.sentAt = Clock::now();
    if (::send(c.fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(line.size())) {
        ++stats_.dropped;
        finish(c);
    }
}

void Soak::onReadable(Conn &c)
{
    char buf[4096];
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        ++stats_.dropped;
        finish(c);
        return;
    }
    c.rx.append(buf, static_cast<std::size_t>(n));
    if (c.rx.size() < c.expect.size())
        return;
    if (c.rx != c.expect) {
        ++stats_.wrong;
        finish(c);
        return;
    }
    c.rx.clear();
    ++stats_.roundTrips;
    stats_.windowRoundTrips += inWindow_ ? 1 : 0;
    stats_.record(Clock::now() - c.sentAt);
    sendNext(c);
}

void Soak::poll(int timeoutMs)
{
    epoll_event events[512];
    const int n = ::epoll_wait(epoll_.get(), events, 512, timeoutMs);
    for (int i = 0; i < n; ++i) {
        Conn &c = conns_[events[i].data.u32];
        if (c.done)
            continue;
        if (!c.connected)
            onConnected(c);
        else
            onReadable(c);
    }
}

int Soak::run()
{
    const auto connectStart = Clock::now();
    for (auto &c : conns_) {
        while (connecting_ >= o_.connectBatch)
            poll(1000);
        startConnect(c);
    }
    while (connecting_ > 0)
        poll(1000);
    const double connectSeconds =
            std::chrono::duration<double>(Clock::now() - connectStart).count();
    std::printf("connected %zu of %zu in %.2f s from %u source addresses\n", stats_.established,
                conns_.size(), connectSeconds, o_.sources);
    std::fflush(stdout);

    inWindow_ = true;
    const auto windowStart = Clock::now();
    const auto windowEnd = windowStart + std::chrono::seconds(o_.seconds);
    while (Clock::now() < windowEnd)
        poll(100);
    inWindow_ = false;
    sending_ = false; // each connection stops once its outstanding reply is in
    const double window = std::chrono::duration<double>(Clock::now() - windowStart).count();
    const auto drainEnd = Clock::now() + std::chrono::seconds(10);
    auto pending = [&] {
        return std::count_if(conns_.begin(), conns_.end(), [](const Conn &c) { return !c.done; });
    };
    while (pending() > 0 && Clock::now() < drainEnd)
        poll(100);
    stats_.lost = static_cast<std::size_t>(pending());

    std::printf("%llu round trips in the %.1f s window (%.0f/s), %llu in all; latency p50 %.3f ms, "
                "p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
                static_cast<unsigned long long>(stats_.windowRoundTrips), window,
                static_cast<double>(stats_.windowRoundTrips) / window,
                static_cast<unsigned long long>(stats_.roundTrips), stats_.percentileMs(0.5),
                stats_.percentileMs(0.99), stats_.percentileMs(0.999), stats_.maxMs);
    const bool ok = stats_.established == conns_.size() && stats_.dropped == 0 &&
                    stats_.wrong == 0 && stats_.lost == 0;
    std::printf("soak: connections=%zu established=%zu failed=%zu dropped=%zu wrong=%zu lost=%zu "
                "round_trips=%llu result=%s\n",
                conns_.size(), stats_.established, stats_.failedConnects, stats_.dropped,
                stats_.wrong, stats_.lost, static_cast<unsigned long long>(stats_.roundTrips),
                ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv)
{
    const Options options = parse(argc, argv);
    raiseFdLimit(options.connections + 64);
    Soak soak(options);
    return soak.run();
}
