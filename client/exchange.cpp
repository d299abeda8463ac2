#include "exchange.h"

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <utility>

#include "common/units.h"
#include "i18n.h"
#include "options.h"
#include "server_line.h"

namespace pisock {

namespace {

constexpr std::size_t kReadSize = 64 * kKiB;
constexpr int kReadsPerWakeup = 4; // then let poll() look at stdin and the terminal again

} // namespace

Exchange::Exchange(UniqueFd socket, std::optional<Framing> framing, ReplySink &sink,
                   std::string name, std::optional<std::chrono::milliseconds> timeout, bool replies)
    : socket_(std::move(socket)), sink_(sink), name_(std::move(name)), timeout_(timeout),
      expectReplies_(replies)
{
    if (framing)
        codec_.emplace(*framing, kMaxReply);
}

void Exchange::startWebSocket(Buffer leftover)
{
    ws_.emplace(kMaxReply);
    in_ = std::move(leftover);
    decode(Clock::now());
    update();
}

void Exchange::send(std::string_view message)
{
    if (!codec_) {
        sendBytes(message);
        return;
    }
    if (state_ != State::Running || finishing_ || sendFailed_)
        return;
    quitSent_ = message == "quit" || message == "exit";
    if (ws_) { // a frame is its own framing: every message pipelined, raw or not
        if (outstanding_ == 0)
            lastActivity_ = Clock::now();
        ws_->text(out_, message);
        ++sent_;
        outstanding_ += expectReplies_ ? 1 : 0;
        return;
    }
    if (codec_->framing() == Framing::Raw) {
        if (message.empty())
            return; // zero bytes never reach the server, so no reply would ever come
        waiting_.emplace_back(message);
        waitingBytes_ += message.size();
        promote(Clock::now());
        return;
    }
    if (outstanding_ == 0)
        lastActivity_ = Clock::now();
    out_.append(message);
    out_.append("\n");
    ++sent_;
    outstanding_ += expectReplies_ ? 1 : 0;
}

void Exchange::sendBytes(std::string_view data)
{
    if (state_ != State::Running || finishing_ || sendFailed_)
        return;
    if (ws_)
        ws_->binary(out_, data);
    else
        out_.append(data);
}

void Exchange::finish()
{
    if (finishing_)
        return;
    finishing_ = true;
    lastActivity_ = Clock::now();
    update();
}

// Raw framing: the next message goes out only when the previous one is answered.
void Exchange::promote(Clock::time_point now)
{
    if (outstanding_ > 0 || waiting_.empty() || sendFailed_)
        return;
    out_.append(waiting_.front());
    waitingBytes_ -= waiting_.front().size();
    waiting_.pop_front();
    ++sent_;
    outstanding_ += expectReplies_ ? 1 : 0;
    lastActivity_ = now;
}

bool Exchange::wantsInput() const noexcept
{
    return state_ == State::Running && !finishing_ && !sendFailed_ && !peerEof_ &&
           out_.readable() + waitingBytes_ < kHighWater;
}

short Exchange::events() const noexcept
{
    if (state_ != State::Running)
        return 0;
    short events = peerEof_ ? 0 : POLLIN;
    if (!out_.empty() && !sendFailed_)
        events |= POLLOUT;
    return events;
}

void Exchange::onReady(short revents, Clock::time_point now)
{
    // POLLERR/POLLHUP: the next recv() or send() says what happened.
    if (state_ == State::Running && (revents & (POLLOUT | POLLERR)))
        writeSome();
    if (state_ == State::Running && (revents & (POLLIN | POLLHUP | POLLERR)))
        readSome(now);
    update();
}

void Exchange::writeSome()
{
    while (!out_.empty() && !sendFailed_) {
        const ssize_t n =
                ::send(socket_.get(), out_.data(), out_.readable(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            out_.consume(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        // EPIPE, ECONNRESET: the server stopped reading. Keep reading what it still sends; the
        // end (EOF or reset) says how the session went.
        sendFailed_ = true;
        out_.clear();
        waiting_.clear();
        waitingBytes_ = 0;
    }
    if (out_.empty())
        out_.release();
}

void Exchange::readSome(Clock::time_point now)
{
    for (int i = 0; i < kReadsPerWakeup && state_ == State::Running && !peerEof_; ++i) {
        const auto span = in_.writable(kReadSize);
        const ssize_t n = ::recv(socket_.get(), span.data(), span.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            fail(kStatusNetwork,
                 trf("connection to {server} lost: {reason}", fmt::arg("server", name_),
                     fmt::arg("reason", localErrnoText(errno))));
            return;
        }
        if (n == 0) {
            onEof(now);
            return;
        }
        in_.commit(static_cast<std::size_t>(n));
        if (!ws_) // ws: each message's payload, once decoded
            sink_.received({ span.data(), static_cast<std::size_t>(n) });
        lastActivity_ = now;
        decode(now);
        if (static_cast<std::size_t>(n) < span.size())
            return; // a short read: the socket is empty, spare a recv() that says EAGAIN
    }
}

// A ws:// session: each text or binary message is one reply (a byte stream's bytes).
void Exchange::decodeFrames(Clock::time_point now)
{
    for (;;) {
        const ws::Event e = ws_->next(in_);
        switch (e.kind) {
        case ws::Event::Kind::NeedMore:
            return;
        case ws::Event::Kind::Text:
        case ws::Event::Kind::Binary:
            sink_.received(e.payload);
            if (codec_)
                deliver(e.payload, now);
            continue;
        case ws::Event::Kind::Ping:
            ws_->pong(out_, e.payload);
            continue;
        case ws::Event::Kind::Pong:
            continue;
        case ws::Event::Kind::Close:
            if (e.code != ws::kCloseNormal && e.code != ws::kCloseNoStatus)
                sink_.warning(trf("the server closed the WebSocket with {code} {reason}",
                                  fmt::arg("code", e.code), fmt::arg("reason", e.payload)));
            if (!closeSent_ && !sendFailed_)
                ws_->close(out_, e.code == ws::kCloseNoStatus ? std::uint16_t{ ws::kCloseNormal }
                                                              : e.code);
            closeSent_ = true;
            writeSome();
            onEof(now);
            return;
        case ws::Event::Kind::Error:
            fail(kStatusNetwork, trf("bad WebSocket frame from {server}: {reason}",
                                     fmt::arg("server", name_), fmt::arg("reason", e.reason)));
            return;
        }
    }
}

void Exchange::decode(Clock::time_point now)
{
    if (ws_) {
        decodeFrames(now);
        return;
    }
    if (!codec_) {
        in_.consume(in_.readable());
        return;
    }
    for (;;) {
        std::string_view message;
        switch (codec_->next(in_, message)) {
        case LineCodec::Result::Message:
            deliver(message, now);
            break;
        case LineCodec::Result::TooLong:
            sink_.warning(trf("a reply longer than {bytes} bytes was discarded",
                              fmt::arg("bytes", kMaxReply)));
            deliver(std::nullopt, now); // answered, even if not shown
            break;
        case LineCodec::Result::NeedMore:
            return;
        }
        if (codec_->framing() == Framing::Raw)
            return; // one read, one reply
    }
}

void Exchange::deliver(std::optional<std::string_view> text, Clock::time_point now)
{
    const ServerLine kind = text ? classifyServerLine(*text) : ServerLine::Plain;
    releaseReason(); // a line came after it: it did not announce the end
    if (kind == ServerLine::CloseReason) {
        reason_ = std::string(*text); // not a reply: the server says why it is about to close
        return;
    }
    ++linesReceived_;
    if (outstanding_ > 0) {
        --outstanding_;
        ++replies_;
        if (kind == ServerLine::Error && ++errorReplies_ == 1)
            firstErrorReply_ = *text;
    }
    if (text)
        sink_.reply(*text);
    promote(now);
}

void Exchange::onEof(Clock::time_point now)
{
    peerEof_ = true;
    if (codec_) {
        if (auto last = codec_->finish(in_))
            deliver(*last, now);
    }
    in_.clear();
    in_.release();
}

void Exchange::update()
{
    if (state_ != State::Running)
        return;
    bool allSent = out_.empty() && waiting_.empty();
    if (ws_ && finishing_ && allSent && !closeSent_ && !sendFailed_ && !peerEof_) {
        // The end of a ws:// session is a Close; the server answers what came before it.
        ws_->close(out_, ws::kCloseNormal);
        closeSent_ = true;
        allSent = false;
    }
    if (finishing_ && allSent && !shutDown_ && !sendFailed_ && !peerEof_) {
        ::shutdown(socket_.get(), SHUT_WR); // the server sees EOF after our last byte
        shutDown_ = true;
    }
    if (counting() && finishing_ && allSent && outstanding_ == 0)
        complete();
    else if (peerEof_)
        onServerClosed();
}

// Every reply is in: done, unless some of them were error lines.
void Exchange::complete()
{
    releaseReason();
    if (errorReplies_ == 0) {
        state_ = State::Done;
        return;
    }
    fail(kStatusServerError, trf("the server refused {errors} of {messages} messages: {line}",
                                 fmt::arg("errors", errorReplies_), fmt::arg("messages", replies_),
                                 fmt::arg("line", firstErrorReply_)));
}

void Exchange::onServerClosed()
{
    if (const auto reason = std::exchange(reason_, std::nullopt)) {
        fail(kStatusServerError,
             trf("the server closed the connection: {reason}", fmt::arg("reason", *reason)));
        return;
    }
    if (!codec_) {
        state_ = State::Done; // a byte stream ends when the server closes
        return;
    }
    const std::size_t unsent = waiting_.size();
    const std::size_t owed = counting() ? outstanding_ + unsent : 0;
    // Asked for: quit or exit sent, or (without replies) the end of input half-closed.
    const bool asked = quitSent_ || (finishing_ && !counting());
    if (owed == 0 && asked)
        complete();
    else if (owed == 0)
        fail(kStatusClosedEarly, tr("the server closed the connection"));
    else if (linesReceived_ == 0)
        fail(kStatusClosedEarly,
             trf("the server closed the connection without answering any of {messages} "
                 "messages; a broadcast server answers nothing: add --no-replies, or use "
                 "--listen-only to only listen",
                 fmt::arg("messages", sent_ + unsent)));
    else
        fail(kStatusClosedEarly,
             trf("the server closed the connection after {replies} of {messages} replies",
                 fmt::arg("replies", replies_), fmt::arg("messages", sent_ + unsent)));
}

std::optional<Clock::time_point> Exchange::deadline() const
{
    if (!timeout_ || state_ != State::Running)
        return std::nullopt;
    const bool waiting = counting() ? outstanding_ > 0 : finishing_;
    if (!waiting)
        return std::nullopt;
    return lastActivity_ + *timeout_;
}

void Exchange::checkTimeout(Clock::time_point now)
{
    const auto due = deadline();
    if (!due || now < *due)
        return;
    if (counting())
        fail(kStatusTimeout,
             trf("no reply from {server} within {time} ({replies} of {messages} replies "
                 "received)",
                 fmt::arg("server", name_), fmt::arg("time", formatDuration(*timeout_)),
                 fmt::arg("replies", replies_), fmt::arg("messages", sent_)));
    else
        fail(kStatusTimeout,
             trf("nothing from {server} within {time} after the end of input",
                 fmt::arg("server", name_), fmt::arg("time", formatDuration(*timeout_))));
}

int Exchange::pollTimeoutMs(Clock::time_point now) const
{
    const auto due = deadline();
    if (!due)
        return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*due - now).count();
    return static_cast<int>(std::max<long long>(left, 0));
}

// A close reason followed by anything but the close is shown as the server sent it.
void Exchange::releaseReason()
{
    if (const auto line = std::exchange(reason_, std::nullopt))
        sink_.warning(trf("the server sent: {line}", fmt::arg("line", *line)));
}

void Exchange::fail(int status, std::string reason)
{
    releaseReason();
    state_ = State::Failed;
    failure_ = { status, std::move(reason) };
}

} // namespace pisock
