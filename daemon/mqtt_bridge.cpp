// The MQTT bridge (daemon/bridge.h) on libmosquitto, driven by pisockd's own loop: the
// broker's socket is one more fd in epoll; mosquitto_loop_read(), mosquitto_loop_write() and
// mosquitto_want_write() run on its readiness, mosquitto_loop_misc() (keepalive) on the
// server's tick. No thread, and none of libmosquitto's own loops.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <optional>
#include <signal.h>
#include <vector>

#include <fmt/format.h>

#include "bridge.h"
#include "bridge_url.h"
#include "chunk.h"
#include "common/errors.h"
#include "common/safe_text.h"
#include "exit_code.h"
#include "log.h"
#include "log_limit.h"
#include "options.h"

namespace pisock {

namespace {

constexpr int kKeepaliveSec = 30;
constexpr std::uint64_t kFirstRetryMs = 1000;
constexpr std::uint64_t kMaxRetryMs = 60000;
constexpr std::uint64_t kConnectTimeoutMs = 10000; // TCP, TLS and CONNACK together
constexpr std::uint64_t kResolveTimeoutMs = 10000;
// Packets read per wakeup before the others get their turn (EventLoop::defer()).
constexpr int kPacketsPerTurn = 256;
constexpr std::size_t kMaxName = 64; // of a node or a sender as shown to local clients
// The name a message gets when published on TOPIC itself, by a plain MQTT client.
constexpr std::string_view kPlainName = "mqtt";
constexpr const char *kSenderProperty = "sender";

struct MosquittoDeleter {
    void operator()(mosquitto *m) const noexcept { ::mosquitto_destroy(m); }
};

void initLibrary()
{
    static const bool done = [] {
        ::mosquitto_lib_init();
        return true;
    }();
    (void)done;
}

bool isNumericHost(const std::string &host)
{
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo *res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (res)
        ::freeaddrinfo(res);
    return rc == 0;
}

// What a sender or node name looks like to local clients: escaped, cut.
std::string shownName(std::string_view name)
{
    std::string out = escapeText(name.substr(0, kMaxName));
    return out.empty() ? std::string(kPlainName) : out;
}

std::string formatSeconds(std::uint64_t ms)
{
    return fmt::format("{} s", (ms + 500) / 1000);
}

// The bridge proper. Owns the libmosquitto handle (and so its socket), the queue of local
// messages waiting for the broker, and the name lookup under way; borrows the loop and the
// hub (it is the hub's relay while it lives).
class MqttBridge final : public Bridge, public IoHandler, public BroadcastRelay
{
public:
    MqttBridge(EventLoop &loop, BroadcastHub &hub, const Settings &settings, BridgeUrl url,
               std::string password, bool checkOnly);
    ~MqttBridge() override;
    MqttBridge(const MqttBridge &) = delete;
    MqttBridge &operator=(const MqttBridge &) = delete;

    void start() noexcept { attempt(); }
    void tick() noexcept override;
    [[nodiscard]] std::string status() const override;
    void stop() noexcept override;
    void onIo(std::uint32_t events) noexcept override;
    void onResume() noexcept override { serviceIo(); }
    void relay(std::string_view sender, std::string_view message) noexcept override;

    enum class State { Waiting, Resolving, Connecting, Up, Stopped };
    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] const std::string &problem() const noexcept { return problem_; }
    // Down, and waiting for the backoff (not about to try the name's next address).
    [[nodiscard]] bool backingOff() const noexcept
    {
        return state_ == State::Waiting && retryAt_ > since_;
    }
    [[nodiscard]] std::string where() const
    {
        return fmt::format("{}:{}",
                           url_.host.find(':') != std::string::npos ? "[" + url_.host + "]"
                                                                    : url_.host,
                           url_.port);
    }

private:
    static void onConnect(mosquitto *, void *self, int rc, int, const mosquitto_property *);
    static void onDisconnect(mosquitto *, void *self, int rc, const mosquitto_property *);
    static void onMessage(mosquitto *, void *self, const mosquitto_message *message,
                          const mosquitto_property *props);
    static void onSubscribe(mosquitto *, void *self, int, int count, const int *granted,
                            const mosquitto_property *);

    void configure();
    void attempt() noexcept;
    void startLookup() noexcept;
    void checkLookup() noexcept;
    void cancelLookup() noexcept;
    void connectTo(const std::string &address) noexcept;
    void connected() noexcept;
    void failed(const std::string &why) noexcept;
    void serviceIo() noexcept;
    void flush() noexcept;
    bool publishNow(std::string_view sender, std::string_view message) noexcept;
    void tooSlow() noexcept;
    void receive(const mosquitto_message &message, const mosquitto_property *props) noexcept;
    [[nodiscard]] std::string rcText(int rc) const;

    EventLoop &loop_;
    BroadcastHub &hub_;
    BridgeUrl url_;
    std::string password_;
    std::string node_;
    std::string ownTopic_; // TOPIC/NODE: where this daemon publishes
    std::string caFile_;
    std::size_t maxMessage_;
    std::size_t highWater_;
    std::size_t lowWater_;
    SlowClient slowClient_;
    bool checkOnly_; // --check: one attempt, nothing logged
    std::unique_ptr<mosquitto, MosquittoDeleter> mosq_;
    State state_ = State::Waiting;
    std::uint64_t since_ = 0; // when the current state began
    std::uint64_t downSince_ = 0; // when the bridge was last up, or started
    std::uint64_t retryAt_ = 0;
    std::uint64_t backoffMs_ = kFirstRetryMs;
    std::string problem_; // why it is not up
    std::string logged_; // the last problem logged: each new one is logged once
    std::string refused_; // the reason of a refused CONNACK, for the disconnect that follows
    bool everUp_ = false;
    bool canRead_ = false;
    bool canWrite_ = false;
    // Local messages waiting for libmosquitto to have sent its packet: [u16 name size][name]
    // [message] in chunks counted in the memory budget, within --high-water like a client.
    std::deque<ChunkRef> queue_;
    std::size_t queuedCost_ = 0;
    bool dropping_ = false;
    std::uint64_t unbridged_ = 0; // local messages not sent while down, since the last log
    std::uint64_t dropped_ = 0; // local messages dropped while up: the broker too slow, memory
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t oversize_ = 0;
    log::Throttle oversizeLog_;
    log::Throttle memoryLog_; // remote messages the budget had no room for
    // getaddrinfo_a(): a name looked up without blocking the loop (glibc's helper thread
    // resolves; the loop polls the result on its tick).
    addrinfo hints_{};
    gaicb lookup_{};
    bool lookingUp_ = false;
    std::vector<std::string> addresses_; // of the name, numeric
    std::size_t nextAddress_ = 0;
};

MqttBridge::MqttBridge(EventLoop &loop, BroadcastHub &hub, const Settings &settings, BridgeUrl url,
                       std::string password, bool checkOnly)
    : loop_(loop), hub_(hub), url_(std::move(url)), password_(std::move(password)),
      node_(nodeNameOf(settings)), ownTopic_(url_.topic + "/" + node_),
      caFile_(settings.bridgeCaFile), maxMessage_(settings.maxMessage),
      highWater_(settings.highWater), lowWater_(settings.lowWater),
      slowClient_(settings.slowClient), checkOnly_(checkOnly)
{
    initLibrary();
    // No client id: the broker assigns one (MQTT v5), so that two daemons never take over
    // each other's session whatever their node names; a clean start, no session kept.
    mosq_.reset(::mosquitto_new(nullptr, true, this));
    if (!mosq_)
        throw std::bad_alloc();
    configure();
    downSince_ = since_ = loop_.now();
    if (!checkOnly_)
        hub_.setRelay(this);
}

MqttBridge::~MqttBridge()
{
    if (!checkOnly_)
        hub_.setRelay(nullptr);
    cancelLookup();
}

void MqttBridge::configure()
{
    mosquitto *m = mosq_.get();
    // MQTT v5: No Local (the broker never sends a daemon its own messages back) and user
    // properties (the sender's name beside the payload).
    ::mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    if (!url_.user.empty() &&
        ::mosquitto_username_pw_set(m, url_.user.c_str(),
                                    password_.empty() ? nullptr : password_.c_str()) !=
                MOSQ_ERR_SUCCESS)
        throw std::bad_alloc();
    if (url_.tls) {
        const int rc = ::mosquitto_tls_set(m, caFile_.empty() ? nullptr : caFile_.c_str(),
                                           caFile_.empty() ? "/etc/ssl/certs" : nullptr, nullptr,
                                           nullptr, nullptr);
        if (rc != MOSQ_ERR_SUCCESS)
            throw OptionError(kExitConfig,
                              fmt::format("bridge-ca-file {}: {}", caFile_,
                                          rc == MOSQ_ERR_ERRNO ? errnoText(errno)
                                                               : ::mosquitto_strerror(rc)));
    }
    ::mosquitto_connect_v5_callback_set(m, onConnect);
    ::mosquitto_disconnect_v5_callback_set(m, onDisconnect);
    ::mosquitto_message_v5_callback_set(m, onMessage);
    ::mosquitto_subscribe_v5_callback_set(m, onSubscribe);
}

std::string MqttBridge::rcText(int rc) const
{
    const int error = errno;
    if ((rc == MOSQ_ERR_CONN_REFUSED || rc == MOSQ_ERR_PROTOCOL) && !refused_.empty())
        return refused_;
    std::string text;
    if (rc == MOSQ_ERR_ERRNO) {
        text = errnoText(error);
    } else {
        text = ::mosquitto_strerror(rc); // "The connection was lost."
        if (!text.empty() && text.back() == '.')
            text.pop_back();
        if (!text.empty())
            text.front() =
                    static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
    }
    // An untrusted certificate: libmosquitto 2.0.11 says "a TLS error occurred", 2.0.21
    // (trixie) "protocol error", or leaves EPROTO in errno, depending on when it notices.
    // Each way, say where to look.
    const bool tlsFailure = rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_PROTOCOL ||
                            (rc == MOSQ_ERR_ERRNO && error == EPROTO);
    if (url_.tls && tlsFailure)
        text += " (mqtts://: is the broker's certificate signed by bridge-ca-file, or by a CA in "
                "/etc/ssl/certs?)";
    return text;
}

void MqttBridge::attempt() noexcept
{
    if (state_ == State::Stopped)
        return;
    refused_.clear();
    // TLS checks the broker's certificate against the name: libmosquitto must be given it,
    // and then resolves it itself, blocking (docs/MQTT.md). Otherwise the name is looked up
    // here, without blocking, and libmosquitto gets the address.
    if (url_.tls || isNumericHost(url_.host))
        connectTo(url_.host);
    else if (nextAddress_ < addresses_.size())
        connectTo(addresses_[nextAddress_++]); // the name's next address
    else
        startLookup();
}

void MqttBridge::startLookup() noexcept
{
    if (lookingUp_) // an earlier one never finished: wait for it
        return;
    hints_ = addrinfo{};
    hints_.ai_family = AF_UNSPEC;
    hints_.ai_socktype = SOCK_STREAM;
    lookup_ = gaicb{};
    lookup_.ar_name = url_.host.c_str();
    lookup_.ar_request = &hints_;
    gaicb *list[] = { &lookup_ };
    sigevent none{};
    none.sigev_notify = SIGEV_NONE;
    if (const int rc = ::getaddrinfo_a(GAI_NOWAIT, list, 1, &none); rc != 0) {
        failed(fmt::format("cannot look up {}: {}", url_.host, ::gai_strerror(rc)));
        return;
    }
    lookingUp_ = true;
    state_ = State::Resolving;
    since_ = loop_.now();
}

void MqttBridge::checkLookup() noexcept
{
    const int rc = ::gai_error(&lookup_);
    if (rc == EAI_INPROGRESS) {
        if (loop_.now() - since_ >= kResolveTimeoutMs) {
            ::gai_cancel(&lookup_); // if it cannot be cancelled, the next attempt waits for it
            state_ = State::Waiting;
            failed(fmt::format("no answer looking up {} within {}", url_.host,
                               formatSeconds(kResolveTimeoutMs)));
        }
        return;
    }
    lookingUp_ = false;
    addrinfo *res = lookup_.ar_result;
    lookup_.ar_result = nullptr;
    if (state_ != State::Resolving) { // timed out earlier: only free what came
        if (res)
            ::freeaddrinfo(res);
        return;
    }
    if (rc != 0 || !res) {
        if (res)
            ::freeaddrinfo(res);
        failed(fmt::format("cannot look up {}: {}", url_.host,
                           rc == EAI_SYSTEM ? errnoText(errno) : ::gai_strerror(rc)));
        return;
    }
    // Every address of the name, tried in turn (localhost: ::1, then 127.0.0.1).
    addresses_.clear();
    nextAddress_ = 0;
    for (const addrinfo *ai = res; ai; ai = ai->ai_next) {
        char text[NI_MAXHOST] = {};
        if (::getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), nullptr, 0,
                          NI_NUMERICHOST) != 0)
            continue;
        try {
            if (std::find(addresses_.begin(), addresses_.end(), text) == addresses_.end())
                addresses_.emplace_back(text);
        } catch (const std::bad_alloc &) {
            break;
        }
    }
    ::freeaddrinfo(res);
    if (addresses_.empty()) {
        failed(fmt::format("cannot look up {}: no address", url_.host));
        return;
    }
    connectTo(addresses_[nextAddress_++]);
}

void MqttBridge::cancelLookup() noexcept
{
    if (!lookingUp_)
        return;
    if (::gai_cancel(&lookup_) == EAI_NOTCANCELED) {
        // glibc's thread still writes into lookup_: wait for it before lookup_ goes.
        const gaicb *list[] = { &lookup_ };
        while (::gai_error(&lookup_) == EAI_INPROGRESS)
            ::gai_suspend(list, 1, nullptr);
    }
    if (lookup_.ar_result)
        ::freeaddrinfo(lookup_.ar_result);
    lookingUp_ = false;
}

void MqttBridge::connectTo(const std::string &address) noexcept
{
    state_ = State::Connecting;
    since_ = loop_.now();
    canRead_ = canWrite_ = false;
    // Non-blocking connect (the address is numeric: getaddrinfo() inside does not block);
    // the CONNECT packet waits in libmosquitto for the socket to be writable.
    errno = 0;
    const int rc = ::mosquitto_connect_bind_async(mosq_.get(), address.c_str(), url_.port,
                                                  kKeepaliveSec, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
        failed(rcText(rc));
        return;
    }
    const int fd = ::mosquitto_socket(mosq_.get());
    if (fd < 0) {
        failed("no socket");
        return;
    }
    if (const int err = loop_.add(fd, *this); err < 0)
        failed(fmt::format("epoll_ctl: {}", errnoText(-err)));
}

void MqttBridge::connected() noexcept
{
    const std::uint64_t downMs = loop_.now() - downSince_;
    state_ = State::Up;
    since_ = loop_.now();
    backoffMs_ = kFirstRetryMs;
    problem_.clear();
    // TOPIC (plain MQTT clients) and TOPIC/NODE of every other daemon; No Local: not our own.
    const std::string below = url_.topic + "/+";
    char *subs[] = { url_.topic.data(), const_cast<char *>(below.c_str()) };
    const int rc = ::mosquitto_subscribe_multiple(mosq_.get(), nullptr, 2, subs, 0,
                                                  MQTT_SUB_OPT_NO_LOCAL, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
        failed(fmt::format("cannot subscribe: {}", rcText(rc)));
        return;
    }
    if (checkOnly_)
        return;
    if (!everUp_)
        log::info("bridge: connected to the MQTT broker at {}, node {}, topic {}", where(), node_,
                  url_.topic);
    else
        log::notice("bridge: connected to the MQTT broker at {} again after {}; {} local "
                    "messages were not bridged meanwhile",
                    where(), formatSeconds(downMs), unbridged_);
    everUp_ = true;
    logged_.clear();
    unbridged_ = 0;
}

void MqttBridge::failed(const std::string &why) noexcept
{
    if (state_ == State::Waiting || state_ == State::Stopped)
        return;
    const bool wasUp = state_ == State::Up;
    state_ = State::Waiting;
    since_ = loop_.now();
    if (wasUp)
        downSince_ = since_;
    problem_ = why;
    // Messages that waited for the broker are lost with the connection (QoS 0).
    unbridged_ += queue_.size();
    queue_.clear();
    queuedCost_ = 0;
    dropping_ = false;
    if (!wasUp && nextAddress_ < addresses_.size()) {
        retryAt_ = since_; // the name's next address, at once
        log::debug("bridge: {} ({}): {}; trying its next address", where(),
                   addresses_[nextAddress_ - 1], why);
        return;
    }
    addresses_.clear(); // the next try looks the name up again
    nextAddress_ = 0;
    retryAt_ = since_ + backoffMs_;
    backoffMs_ = std::min(backoffMs_ * 2, kMaxRetryMs);
    if (checkOnly_)
        return;
    // Each outage once, and each new reason before the first connection, or the broker's
    // refusal during an outage (a password changed); the retries say nothing more (debug).
    const bool refused = !refused_.empty() && why == refused_;
    if (wasUp)
        log::warning("bridge: lost the MQTT broker at {} ({}); the local room goes on, its "
                     "messages are not bridged until the broker is back; retrying",
                     where(), why);
    else if (why != logged_ && (!everUp_ || refused))
        log::warning("bridge: cannot connect to the MQTT broker at {}: {}; the local room goes "
                     "on; retrying, at most every {}",
                     where(), why, formatSeconds(kMaxRetryMs));
    else
        log::debug("bridge: {}: {}; next try in {}", where(), why,
                   formatSeconds(retryAt_ - since_));
    if (!wasUp)
        logged_ = why;
}

void MqttBridge::onIo(std::uint32_t events) noexcept
{
    if (events & EPOLLIN)
        canRead_ = true;
    if (events & EPOLLOUT)
        canWrite_ = true;
    serviceIo();
}

void MqttBridge::serviceIo() noexcept
{
    if (state_ != State::Connecting && state_ != State::Up)
        return; // an old socket's last events
    mosquitto *m = mosq_.get();
    if (state_ == State::Connecting) {
        // One read per event: it also steps the TLS handshake, which says nothing in errno.
        errno = 0;
        if (const int rc = ::mosquitto_loop_read(m, 1); rc != MOSQ_ERR_SUCCESS) {
            failed(rcText(rc));
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            canRead_ = false;
    }
    if (state_ == State::Up && canRead_) {
        int packets = 0;
        for (; packets < kPacketsPerTurn; ++packets) {
            errno = 0;
            const int rc = ::mosquitto_loop_read(m, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                failed(rcText(rc));
                return;
            }
            if (state_ != State::Up)
                return;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                canRead_ = false;
                break;
            }
        }
        if (packets == kPacketsPerTurn)
            loop_.defer(*this); // ET: the rest is read on the next turn
    }
    if (state_ != State::Connecting && state_ != State::Up)
        return;
    if (::mosquitto_want_write(m) && canWrite_) {
        errno = 0;
        const int rc = ::mosquitto_loop_write(m, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            failed(rcText(rc));
            return;
        }
        if (::mosquitto_want_write(m))
            canWrite_ = false; // the socket is full: EPOLLOUT will say when it is not
    }
    flush();
}

void MqttBridge::flush() noexcept
{
    mosquitto *m = mosq_.get();
    while (state_ == State::Up && !queue_.empty() && !::mosquitto_want_write(m)) {
        const Chunk &c = *queue_.front();
        std::uint16_t nameSize = 0;
        std::memcpy(&nameSize, c.data(), sizeof(nameSize));
        const std::string_view name(c.data() + sizeof(nameSize), nameSize);
        const std::string_view message(name.data() + nameSize,
                                       c.size() - sizeof(nameSize) - nameSize);
        const std::size_t cost = c.cost();
        const bool ok = publishNow(name, message);
        if (!queue_.empty()) { // a failure empties it
            queue_.pop_front();
            queuedCost_ -= cost;
        }
        if (!ok)
            return;
    }
    if (dropping_ && queuedCost_ <= lowWater_) {
        dropping_ = false;
        if (!checkOnly_)
            log::notice("bridge: the broker caught up; {} local messages were dropped "
                        "(--high-water)",
                        dropped_);
    }
}

bool MqttBridge::publishNow(std::string_view sender, std::string_view message) noexcept
{
    mosquitto *m = mosq_.get();
    mosquitto_property *props = nullptr;
    std::string name(sender); // NUL-terminated for libmosquitto
    if (::mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, kSenderProperty,
                                             name.c_str()) != MOSQ_ERR_SUCCESS) {
        ::mosquitto_property_free_all(&props);
        ++dropped_;
        return true;
    }
    // QoS 0: the room is best effort already (a slow client loses messages), and QoS 1
    // would keep every message in libmosquitto, outside the memory budget, until acknowledged.
    // Written at once, as far as the socket takes it (not inside a libmosquitto callback).
    errno = 0;
    const int rc = ::mosquitto_publish_v5(m, nullptr, ownTopic_.c_str(),
                                          static_cast<int>(message.size()), message.data(), 0,
                                          false, props);
    ::mosquitto_property_free_all(&props);
    if (rc == MOSQ_ERR_SUCCESS) {
        ++sent_;
        if (::mosquitto_want_write(m))
            canWrite_ = false;
        return true;
    }
    if (rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET) {
        ++dropped_;
        return true;
    }
    failed(rcText(rc));
    return false;
}

void MqttBridge::relay(std::string_view sender, std::string_view message) noexcept
{
    if (state_ != State::Up) {
        ++unbridged_; // QoS 0 and no queue while down: counted, said when it is back
        return;
    }
    sender = sender.substr(0, kMaxName);
    if (queue_.empty() && !::mosquitto_want_write(mosq_.get())) {
        publishNow(sender, message);
        return;
    }
    // libmosquitto still holds a packet the socket did not take: queue ours behind it, as
    // much as a client may have waiting (--high-water), in memory the budget counts.
    const auto nameSize = static_cast<std::uint16_t>(sender.size());
    const std::size_t size = sizeof(nameSize) + nameSize + message.size();
    const std::size_t cost = Chunk::costOf(size);
    if (dropping_ || queuedCost_ + cost > highWater_) {
        tooSlow();
        return;
    }
    Chunk *chunk = Chunk::create(size, hub_.config().memory);
    if (!chunk) {
        ++dropped_;
        return;
    }
    std::memcpy(chunk->data(), &nameSize, sizeof(nameSize));
    std::memcpy(chunk->data() + sizeof(nameSize), sender.data(), nameSize);
    std::memcpy(chunk->data() + sizeof(nameSize) + nameSize, message.data(), message.size());
    queue_.emplace_back(chunk); // the deque's own blocks are a few pointers per message
    queuedCost_ += cost;
}

void MqttBridge::tooSlow() noexcept
{
    ++dropped_;
    if (dropping_)
        return;
    if (slowClient_ == SlowClient::Disconnect) {
        log::warning("bridge: the MQTT broker takes messages slower than the room sends them "
                     "({} bytes wait, --high-water); --slow-client disconnect: reconnecting",
                     queuedCost_);
        failed("too slow, --slow-client disconnect");
        return;
    }
    dropping_ = true;
    log::warning("bridge: the MQTT broker takes messages slower than the room sends them ({} "
                 "bytes wait, --high-water); dropping messages to it until it catches up",
                 queuedCost_);
}

void MqttBridge::receive(const mosquitto_message &message, const mosquitto_property *props) noexcept
{
    // TOPIC: a plain MQTT client; TOPIC/NAME: a daemon (or a client naming itself NAME).
    const std::string_view topic(message.topic);
    std::string_view node = kPlainName;
    if (topic.size() > url_.topic.size() + 1)
        node = topic.substr(url_.topic.size() + 1);
    else if (topic != url_.topic)
        return;
    std::string_view payload(static_cast<const char *>(message.payload),
                             message.payload ? static_cast<std::size_t>(message.payloadlen) : 0);
    if (payload.ends_with('\n')) // mosquitto_pub -l and friends: the line end is not the message
        payload.remove_suffix(payload.ends_with("\r\n") ? 2 : 1);
    if (payload.size() > maxMessage_) {
        ++oversize_;
        if (!checkOnly_ && oversizeLog_.allow(loop_.now()))
            log::warning("bridge: a message of {} bytes on {} is over --max-message, not "
                         "delivered; {} so far",
                         payload.size(), escapeText(topic), oversize_);
        return;
    }
    try {
        std::string prefix = shownName(node);
        char *name = nullptr;
        char *value = nullptr;
        for (const mosquitto_property *p = props; p;) {
            p = ::mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value,
                                                      p != props);
            if (!p)
                break;
            const bool found = name && std::strcmp(name, kSenderProperty) == 0;
            if (found) // two appends: "/" + a temporary trips GCC 12's -Wrestrict at -O3
                prefix.append("/").append(shownName(value ? value : ""));
            std::free(name);
            std::free(value);
            name = value = nullptr;
            if (found)
                break;
        }
        prefix += ": ";
        ++received_;
        const std::uint64_t undelivered = hub_.remoteUndelivered();
        hub_.publishRemote(prefix, payload);
        if (hub_.remoteUndelivered() != undelivered && memoryLog_.allow(loop_.now()))
            log::warning("bridge: memory short (--memory-limit): a message from {} not "
                         "delivered; {} so far",
                         escapeText(topic), hub_.remoteUndelivered());
    } catch (const std::bad_alloc &) {
        ++dropped_;
    }
}

void MqttBridge::onConnect(mosquitto *, void *self, int rc, int, const mosquitto_property *)
{
    auto *bridge = static_cast<MqttBridge *>(self);
    const int saved = errno;
    if (rc == 0)
        bridge->connected();
    else
        bridge->refused_ = fmt::format("the broker refused us: {}", ::mosquitto_reason_string(rc));
    errno = saved;
}

void MqttBridge::onDisconnect(mosquitto *, void *self, int rc, const mosquitto_property *)
{
    auto *bridge = static_cast<MqttBridge *>(self);
    const int saved = errno;
    bridge->failed(rc == 0 ? std::string("the broker closed the connection") : bridge->rcText(rc));
    errno = saved;
}

void MqttBridge::onMessage(mosquitto *, void *self, const mosquitto_message *message,
                           const mosquitto_property *props)
{
    // errno tells loop_read() whether the socket is drained: what delivering sets is not that.
    const int saved = errno;
    if (message)
        static_cast<MqttBridge *>(self)->receive(*message, props);
    errno = saved;
}

void MqttBridge::onSubscribe(mosquitto *, void *self, int, int count, const int *granted,
                             const mosquitto_property *)
{
    auto *bridge = static_cast<MqttBridge *>(self);
    const int saved = errno;
    for (int i = 0; i < count; ++i)
        if (granted[i] >= 0x80 && !bridge->checkOnly_) // the broker's ACL said no
            log::warning("bridge: the MQTT broker at {} refused a subscription below {}: {}; "
                         "remote messages will not arrive",
                         bridge->where(), bridge->url_.topic,
                         ::mosquitto_reason_string(granted[i]));
    errno = saved;
}

void MqttBridge::tick() noexcept
{
    const std::uint64_t now = loop_.now();
    switch (state_) {
    case State::Waiting:
        if (now >= retryAt_)
            attempt();
        break;
    case State::Resolving:
        checkLookup();
        break;
    case State::Connecting:
        if (now - since_ >= kConnectTimeoutMs) {
            failed(fmt::format("no answer within {}", formatSeconds(kConnectTimeoutMs)));
            break;
        }
        serviceIo();
        break;
    case State::Up:
        // Keepalive: PINGREQ when due, and a broker silent past 1.5 times it is gone.
        errno = 0;
        if (const int rc = ::mosquitto_loop_misc(mosq_.get()); rc != MOSQ_ERR_SUCCESS) {
            failed(rcText(rc));
            break;
        }
        serviceIo();
        break;
    case State::Stopped:
        break;
    }
    if (lookingUp_ && state_ != State::Resolving)
        checkLookup(); // a lookup that timed out: free it once it ends
}

std::string MqttBridge::status() const
{
    const std::uint64_t now = loop_.now();
    switch (state_) {
    case State::Up:
        return fmt::format("bridge up ({} on {}/{})", node_, where(), url_.topic);
    case State::Stopped:
        return "bridge stopped";
    case State::Resolving:
    case State::Connecting:
        if (!everUp_ && problem_.empty())
            return fmt::format("bridge connecting to {}", where());
        [[fallthrough]];
    case State::Waiting:
        break;
    }
    return fmt::format("bridge down for {} ({}), retrying", formatSeconds(now - downSince_),
                       problem_.empty() ? "connecting" : problem_);
}

void MqttBridge::stop() noexcept
{
    const bool up = state_ == State::Up;
    state_ = State::Stopped; // first: the disconnect callback that follows is not an outage
    if (up)
        ::mosquitto_disconnect(mosq_.get()); // written now if the socket takes it
    hub_.setRelay(nullptr);
}

} // namespace

std::unique_ptr<Bridge> startBridge(EventLoop &loop, BroadcastHub &hub, const Settings &settings)
{
    std::string error;
    auto url = parseBridgeUrl(settings.bridge, error);
    if (!url) // the options checked it: only a bug gets here
        throw OptionError(kExitConfig, "bridge: " + error);
    std::string password;
    if (!settings.bridgePasswordFile.empty())
        password = readBridgePassword(settings.bridgePasswordFile);
    auto bridge = std::make_unique<MqttBridge>(loop, hub, settings, std::move(*url),
                                               std::move(password), false);
    bridge->start();
    return bridge;
}

std::string checkBridge(const Settings &settings, std::string &ok, unsigned timeoutMs)
{
    std::string error;
    auto url = parseBridgeUrl(settings.bridge, error);
    if (!url)
        return "bridge: " + error;
    std::string password;
    const std::string topic = url->topic;
    if (!settings.bridgePasswordFile.empty())
        password = readBridgePassword(settings.bridgePasswordFile); // OptionError: exit 78
    {
        EventLoop loop;
        BroadcastConfig config;
        BroadcastHub hub(config);
        loop.updateTime();
        MqttBridge bridge(loop, hub, settings, std::move(*url), std::move(password), true);
        const std::uint64_t deadline = loop.now() + timeoutMs;
        bridge.start();
        while (bridge.state() != MqttBridge::State::Up && !bridge.backingOff() &&
               loop.now() < deadline) {
            loop.runOnce(50);
            loop.updateTime();
            bridge.tick();
        }
        if (bridge.state() == MqttBridge::State::Up) {
            ok = fmt::format("bridge: the MQTT broker at {} accepted us (node {}, topic {})",
                             bridge.where(), nodeNameOf(settings), topic);
            bridge.stop();
            return {};
        }
        return fmt::format("bridge: cannot connect to the MQTT broker at {}: {}", bridge.where(),
                           bridge.problem().empty() ? "no answer in time" : bridge.problem());
    }
}

} // namespace pisock
