#include "ws_stage.h"

#include <algorithm>
#include <cstring>

#include "broadcast.h"
#include "common/http_head.h"
#include "log.h"

namespace pisock {

namespace {

// A reply line as a frame carries it: without its "\n" or "\r\n".
std::string_view withoutNewline(std::string_view line) noexcept
{
    if (line.ends_with('\n'))
        line.remove_suffix(1);
    if (line.ends_with('\r'))
        line.remove_suffix(1);
    return line;
}

// Calls f(line) for each line of a chunk's text, without its newline.
template<class F> void forEachLine(std::string_view text, F &&f)
{
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        const std::size_t next = end == std::string_view::npos ? text.size() : end + 1;
        f(withoutNewline(text.substr(0, next)));
        text.remove_prefix(next);
    }
}

} // namespace

std::string wsErrorResponse(int status)
{
    std::string response;
    {
        Buffer out;
        ws::writeError(out, status);
        response = out.view();
    }
    // The block of that budget-less buffer went to the pool, which would then refuse the
    // budget's blocks (pisockd --stats: an idle client's pooled block uncounted): back to the
    // heap. Called when the server starts, before any block is counted.
    Buffer::trimPool(true);
    return response;
}

Chunk *WsChunkFramer::framed(Chunk &source) noexcept
{
    if (source_.get() == &source)
        return framed_.get();
    const std::string_view text(source.data(), source.size());
    std::size_t size = 0;
    forEachLine(text, [&](std::string_view line) {
        size += ws::headerSize(line.size(), false) + line.size();
    });
    if (size == 0)
        return nullptr;
    ChunkRef chunk(Chunk::create(size, config_.memory));
    if (!chunk)
        return nullptr;
    char *p = chunk->data();
    forEachLine(text, [&](std::string_view line) {
        p += ws::writeHeader(p, ws::Opcode::Text, line.size());
        std::memcpy(p, line.data(), line.size());
        p += line.size();
    });
    source.ref();
    source_ = ChunkRef(&source);
    framed_ = std::move(chunk);
    return framed_.get();
}

WsStage::WsStage(std::unique_ptr<Service> inner, const WsConfig &config, WsChunkFramer &framer,
                 bool lines, std::string peer, std::uint64_t id)
    : inner_(std::move(inner)), config_(config), framer_(framer), lines_(lines),
      peer_(std::move(peer)), id_(id), decoder_(ws::Role::Server, *config.maxMessage)
{
}

WsStage::~WsStage() = default;

void WsStage::attach(Outlet &outlet) noexcept
{
    outlet_ = &outlet;
    decoder_.setAccount(outlet.account());
}

void WsStage::detach() noexcept
{
    if (innerAttached_)
        inner_->detach();
    outlet_ = nullptr;
}

Verdict WsStage::onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    switch (phase_) {
    case Phase::Handshake:
        if (const Verdict v = handshake(in, out, eof);
            v != Verdict::Continue || phase_ != Phase::Open)
            return v;
        return frames(in, out, outLimit, eof); // frames sent right behind the handshake
    case Phase::Open:
        return frames(in, out, outLimit, eof);
    case Phase::Closed:
        break;
    }
    in.consume(in.readable());
    return Verdict::Finish;
}

Verdict WsStage::refuse(Buffer &out, int status, bool head, const char *why) noexcept
{
    const log::Peer who{ peer_, id_ };
    log::at(log::Level::Info, &who, "WebSocket handshake refused with HTTP {}: {}", status, why);
    ws::writeError(out, status, head);
    phase_ = Phase::Closed;
    return Verdict::Finish;
}

bool WsStage::originAllowed(const ws::Request &request) const noexcept
{
    if (!request.hasOrigin || ws::isSameOrigin(request.origin, request.host))
        return true;
    return std::any_of(config_.origins.begin(), config_.origins.end(), [&](const std::string &o) {
        return o == "*" || http::equalsIgnoreCase(o, request.origin);
    });
}

Verdict WsStage::handshake(Buffer &in, Buffer &out, bool eof) noexcept
{
    ws::Request request;
    if (!parser_.parse(in, request)) {
        if (!eof)
            return Verdict::Continue;
        in.consume(in.readable()); // the peer left before its request ended
        phase_ = Phase::Closed;
        return Verdict::Finish;
    }
    const log::Peer who{ peer_, id_ };
    switch (request.route) {
    case ws::Route::Upgrade:
        if (!originAllowed(request))
            return refuse(out, 403, false, "origin not allowed (ws-origin)");
        if (!ws::writeAccept(out, request.key))
            return Verdict::Finish; // no memory: the connection closes
        in.consume(request.size);
        log::at(log::Level::Debug, &who, "WebSocket opened on {}{}{}", request.path,
                request.hasOrigin ? ", origin " : "", request.origin);
        phase_ = Phase::Open;
        if (outlet_) {
            inner_->attach(*this); // a broadcast member only once its 101 is on its way
            innerAttached_ = true;
        }
        return Verdict::Continue;
    case ws::Route::Page:
        if (config_.page.empty())
            return refuse(out, 404, request.head, "the page is off (ws-page = no)");
        ws::writePage(out, config_.page, request.head);
        log::at(log::Level::Debug, &who, "page served");
        phase_ = Phase::Closed;
        return Verdict::Finish;
    default:
        return refuse(out, ws::statusFor(request.route), request.head, request.reason);
    }
}

Verdict WsStage::frames(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    decoder_.setMaxMessage(*config_.maxMessage);
    // As BroadcastService bounds its own calls: one sender does not hold the loop for long.
    const std::uint64_t start = config_.hub ? config_.hub->deliveries() : 0;
    for (;;) {
        if (out.cost() >= outLimit)
            return Verdict::Continue; // called again at the low-water mark
        if (config_.hub &&
            config_.hub->deliveries() - start >= BroadcastService::kDeliveriesPerCall)
            return Verdict::Yield;
        const ws::Event event = decoder_.next(in);
        switch (event.kind) {
        case ws::Event::Kind::NeedMore:
            break;
        case ws::Event::Kind::Text:
        case ws::Event::Kind::Binary:
            if (!message(event, out))
                return close(out, ws::kCloseNormal, nullptr);
            continue;
        case ws::Event::Kind::Ping:
            encoder_.pong(out, event.payload);
            continue;
        case ws::Event::Kind::Pong:
            continue;
        case ws::Event::Kind::Close:
            // Its code back (RFC 6455 5.5.1), none if it gave none.
            return close(out, event.code, nullptr);
        case ws::Event::Kind::Error:
            return close(out, event.code, event.reason);
        }
        break;
    }
    if (eof) {
        // Gone without a Close: what is left is not a message; a broadcast member leaves.
        in.consume(in.readable());
        inner_->onInput(message_, reply_, Buffer::kUnlimited, true);
        reply_.clear();
    }
    message_.release();
    reply_.release();
    return Verdict::Continue;
}

bool WsStage::message(const ws::Event &event, Buffer &out) noexcept
{
    const ws::Opcode op = event.kind == ws::Event::Kind::Text ? ws::Opcode::Text
                                                              : ws::Opcode::Binary;
    if (!lines_ && event.payload.empty())
        return encoder_.frame(out, op, {}); // echo: an empty message back
    // The inner service frames messages its own way (raw: one read is one message): it gets
    // exactly one. An empty one is an empty line, as a TCP client sends it.
    if (!message_.append(event.payload.empty() ? std::string_view("\n") : event.payload))
        return false;
    const Verdict verdict = inner_->onInput(message_, reply_, Buffer::kUnlimited, false);
    message_.clear();
    if (!sendReply(out, op))
        return false;
    return verdict != Verdict::Finish;
}

bool WsStage::sendReply(Buffer &out, ws::Opcode op) noexcept
{
    if (reply_.empty())
        return true;
    const std::string_view reply = lines_ ? withoutNewline(reply_.view()) : reply_.view();
    const bool ok = encoder_.frame(out, op, { reply });
    reply_.clear();
    return ok;
}

Verdict WsStage::close(Buffer &out, std::uint16_t code, const char *reason) noexcept
{
    if (reason) {
        const log::Peer who{ peer_, id_ };
        log::at(log::Level::Info, &who, "WebSocket closed with {}: {}", code, reason);
    }
    encoder_.close(out, code, reason ? std::string_view(reason) : std::string_view());
    phase_ = Phase::Closed;
    if (innerAttached_) {
        // A broadcast member leaves the conversation, as after quit.
        message_.clear();
        inner_->onInput(message_, reply_, Buffer::kUnlimited, true);
        reply_.clear();
    }
    message_.release();
    reply_.release();
    return Verdict::Finish;
}

void WsStage::onLowWater(Buffer &out) noexcept
{
    if (phase_ != Phase::Open)
        return;
    inner_->onLowWater(reply_);
    sendReply(out, ws::Opcode::Text);
    reply_.release();
}

void WsStage::closeWith(Buffer &out, std::string_view line, std::uint16_t code) noexcept
{
    if (phase_ != Phase::Open)
        return;
    if (!line.empty())
        encoder_.frame(out, ws::Opcode::Text, { withoutNewline(line) }); // short: closes without
    close(out, code, nullptr);
}

void WsStage::notice(Buffer &out, std::string_view line) noexcept
{
    closeWith(out, line, ws::kCloseNormal);
}

void WsStage::onStop(Buffer &out, std::string_view line) noexcept
{
    closeWith(out, line, ws::kCloseGoingAway);
}

std::size_t WsStage::outputCost() const noexcept
{
    return outlet_ ? outlet_->outputCost() : 0;
}

bool WsStage::makeRoomFor(const Chunk &chunk) noexcept
{
    // The chunk is the hub's, never const: the framer holds a reference to it.
    Chunk *framed = framer_.framed(const_cast<Chunk &>(chunk));
    return outlet_ && framed && outlet_->makeRoomFor(*framed);
}

bool WsStage::share(Chunk &chunk) noexcept
{
    Chunk *framed = framer_.framed(chunk);
    return outlet_ && framed && outlet_->share(*framed);
}

void WsStage::watchLowWater() noexcept
{
    if (outlet_)
        outlet_->watchLowWater();
}

void WsStage::abort(const char *reason) noexcept
{
    if (outlet_)
        outlet_->abort(reason);
}

MemoryAccount *WsStage::account() noexcept
{
    return outlet_ ? outlet_->account() : nullptr;
}

} // namespace pisock
