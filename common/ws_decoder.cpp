#include "ws_decoder.h"

#include <algorithm>
#include <new>

namespace pisock::ws {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kReserved = 0x70; // RSV1-3: no extension is ever negotiated
constexpr std::uint8_t kOpcodeBits = 0x0f;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7f;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;

bool isKnown(std::uint8_t op) noexcept
{
    return op <= 0x2 || (op >= 0x8 && op <= 0xa);
}

std::uint64_t bigEndian(const std::uint8_t *p, std::size_t n) noexcept
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
        v = (v << 8) | p[i];
    return v;
}

} // namespace

Event Decoder::next(Buffer &in) noexcept
{
    if (delivered_) {
        message_.clear();
        message_.release();
        delivered_ = false;
    }
    if (done_) {
        in.consume(in.readable());
        return {};
    }
    for (;;) {
        if (!haveHeader_) {
            Event error;
            const Header h = readHeader(in, error);
            if (h == Header::NeedMore)
                return {};
            if (h == Header::Failed)
                return error;
        }
        // Unmask and check what has arrived of the payload, in place: invalid UTF-8 is
        // refused as soon as it arrives, not only once its frame is whole.
        const std::size_t arrived = std::min(in.readable() - headerSize_, length_);
        if (arrived > checked_) {
            char *p = in.data() + headerSize_ + checked_;
            const std::size_t n = arrived - checked_;
            if (masked_)
                applyMask(p, n, mask_, checked_);
            checked_ = arrived;
            if (isTextPayload() && !utf8_.feed({ p, n }))
                return fail(kCloseInvalidData, "invalid UTF-8 in a text message");
        }
        if (checked_ < length_)
            return {};

        const std::string_view payload(in.data() + headerSize_, length_);
        in.consume(headerSize_ + length_); // the bytes stay readable until in is written
        haveHeader_ = false;
        checked_ = 0;
        Event event = onFrame(payload);
        if (event.kind != Event::Kind::NeedMore)
            return event;
    }
}

Decoder::Header Decoder::readHeader(const Buffer &in, Event &error) noexcept
{
    const auto *b = reinterpret_cast<const std::uint8_t *>(in.data());
    const std::size_t size = in.readable();
    if (size < kMinHeader)
        return Header::NeedMore;
    const auto op = static_cast<std::uint8_t>(b[0] & kOpcodeBits);
    const bool fin = (b[0] & kFin) != 0;
    const bool masked = (b[1] & kMaskBit) != 0;
    const auto length7 = static_cast<std::uint8_t>(b[1] & kLengthBits);

    // Whatever can be judged from the first two bytes is judged before waiting for more.
    const char *why = nullptr;
    if (b[0] & kReserved)
        why = "reserved bits set without an extension";
    else if (!isKnown(op))
        why = "unknown opcode";
    else if (role_ == Role::Server && !masked)
        why = "unmasked frame from a client";
    else if (role_ == Role::Client && masked)
        why = "masked frame from a server";
    else if (isControl(Opcode{ op }) && !fin)
        why = "fragmented control frame";
    else if (isControl(Opcode{ op }) && length7 > kMaxControlPayload)
        why = "control frame over 125 bytes";
    if (why) {
        error = fail(kCloseProtocolError, why);
        return Header::Failed;
    }

    const std::size_t extended = length7 == kLength16 ? 2 : length7 == kLength64 ? 8 : 0;
    const std::size_t headerSize = kMinHeader + extended + (masked ? mask_.size() : 0);
    if (size < headerSize)
        return Header::NeedMore;
    const std::uint64_t length = extended ? bigEndian(b + kMinHeader, extended) : length7;
    op_ = Opcode{ op };
    fin_ = fin;
    if (!checkHeader(extended, length, error))
        return Header::Failed;

    masked_ = masked;
    if (masked)
        std::copy_n(b + kMinHeader + extended, mask_.size(), mask_.begin());
    headerSize_ = headerSize;
    length_ = static_cast<std::size_t>(length); // checkHeader() bounded it by maxMessage_
    checked_ = 0;
    haveHeader_ = true;
    if (op_ == Opcode::Text)
        utf8_.reset(); // a text message starts
    return Header::Complete;
}

// The rules that need the whole header: length encoding, message order and size.
bool Decoder::checkHeader(std::size_t extended, std::uint64_t length, Event &error) noexcept
{
    const std::size_t have = open_ ? message_.readable() : 0;
    const char *why = nullptr;
    std::uint16_t code = kCloseProtocolError;
    if (extended == 8 && (length >> 63) != 0)
        why = "frame length over 63 bits";
    else if ((extended == 2 && length <= kMaxControlPayload) || (extended == 8 && length <= 0xffff))
        why = "frame length not in its shortest form";
    else if (op_ == Opcode::Continuation && !open_)
        why = "continuation frame without a message to continue";
    else if ((op_ == Opcode::Text || op_ == Opcode::Binary) && open_)
        why = "new message before the fragmented one ended";
    else if (!isControl(op_) && (have > maxMessage_ || length > maxMessage_ - have)) {
        why = "message too long";
        code = kCloseTooBig;
    }
    if (why) {
        error = fail(code, why);
        return false;
    }
    return true;
}

bool Decoder::isTextPayload() const noexcept
{
    return op_ == Opcode::Text || (op_ == Opcode::Continuation && messageOp_ == Opcode::Text);
}

Event Decoder::onFrame(std::string_view payload) noexcept
{
    Event event;
    switch (op_) {
    case Opcode::Text:
    case Opcode::Binary:
        if (!fin_) {
            open_ = true;
            messageOp_ = op_;
            gather(payload, event);
            return event; // NeedMore: read on, or an Error
        }
        event.payload = payload; // a message in one frame: a view of the input, no copy
        break;
    case Opcode::Continuation:
        if (!gather(payload, event) || !fin_)
            return event;
        open_ = false;
        delivered_ = true;
        event.payload = message_.view();
        break;
    case Opcode::Ping:
        return { Event::Kind::Ping, payload };
    case Opcode::Pong:
        return { Event::Kind::Pong, payload };
    case Opcode::Close:
        return onClose(payload);
    }
    const bool text = isTextPayload();
    if (text && !utf8_.complete())
        return fail(kCloseInvalidData, "text message ends inside a UTF-8 character");
    event.kind = text ? Event::Kind::Text : Event::Kind::Binary;
    return event;
}

// Appends a fragment to the message being gathered.
bool Decoder::gather(std::string_view payload, Event &error) noexcept
{
    try {
        if (message_.append(payload))
            return true;
    } catch (const std::bad_alloc &) {
    }
    error = fail(kCloseInternalError, "out of memory for a fragmented message");
    return false;
}

Event Decoder::onClose(std::string_view payload) noexcept
{
    if (payload.size() == 1)
        return fail(kCloseProtocolError, "close frame with a 1-byte payload");
    Event event{ Event::Kind::Close, {}, kCloseNoStatus };
    if (payload.size() >= 2) {
        event.code = static_cast<std::uint16_t>(
                bigEndian(reinterpret_cast<const std::uint8_t *>(payload.data()), 2));
        event.payload = payload.substr(2);
        if (!isValidCloseCode(event.code))
            return fail(kCloseProtocolError, "invalid close code");
        if (!isValidUtf8(event.payload))
            return fail(kCloseInvalidData, "invalid UTF-8 in a close reason");
    }
    done_ = true;
    open_ = false; // a message the Close cut short is dropped
    message_.clear();
    message_.release();
    return event;
}

Event Decoder::fail(std::uint16_t code, const char *reason) noexcept
{
    done_ = true;
    open_ = false;
    haveHeader_ = false;
    message_.clear();
    message_.release();
    return { Event::Kind::Error, {}, code, reason };
}

} // namespace pisock::ws
