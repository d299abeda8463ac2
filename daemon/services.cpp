#include "services.h"

#include <cstring>

namespace pisock {

bool isQuitCommand(std::string_view message) noexcept
{
    return message == "quit" || message == "exit";
}

MessageService::MessageService(const ReplyConfig &config, Framing framing, std::string peer,
                               std::uint64_t id)
    : config_(config), codec_(framing, config.maxMessage), peer_(std::move(peer)), id_(id)
{
}

Verdict MessageService::handle(std::string_view message, Buffer &out) noexcept
{
    ++messages_;
    if (log::enabled(log::Level::Debug)) {
        const log::Peer who{ peer_, id_ };
        log::at(log::Level::Debug, &who, "message: {}", message);
    }
    onMessage(message, out);
    return isQuitCommand(message) ? Verdict::Finish : Verdict::Continue;
}

void MessageService::tooLong(Buffer &out) noexcept
{
    ++messages_;
    const log::Peer who{ peer_, id_ };
    log::at(log::Level::Debug, &who, "message over {} bytes discarded", codec_.maxMessage());
    writeTooLong(out);
}

void MessageService::writeTooLong(Buffer &out) noexcept
{
    char line[96];
    const int n = std::snprintf(line, sizeof(line), "error: message too long (limit %zu bytes)\n",
                                codec_.maxMessage());
    out.append({ line, static_cast<std::size_t>(n) });
}

Verdict MessageService::onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept
{
    codec_.setMaxMessage(config_.maxMessage);
    std::string_view message;
    while (out.cost() < outLimit) {
        if (yieldNow())
            return Verdict::Yield;
        switch (codec_.next(in, message)) {
        case LineCodec::Result::Message:
            if (handle(message, out) == Verdict::Finish)
                return Verdict::Finish;
            continue;
        case LineCodec::Result::TooLong:
            tooLong(out);
            continue;
        case LineCodec::Result::NeedMore:
            break;
        }
        // An unterminated last line is still a message (printf 'a\nb' | nc -N).
        if (eof) {
            if (auto last = codec_.finish(in))
                return handle(*last, out);
        } else if (messages_ == 0) {
            noteUnterminated(in);
        }
        break;
    }
    return Verdict::Continue;
}

// Only until the first message ends, so nothing of this is done per message.
void MessageService::noteUnterminated(const Buffer &in) noexcept
{
    if (hinted_ || in.empty() || codec_.framing() != Framing::Line || !config_.framingHint)
        return;
    hinted_ = true;
    config_.framingHint->waiting(id_);
}

void LineService::onMessage(std::string_view message, Buffer &out) noexcept
{
    const std::string_view prefix = config().prefix;
    const std::string_view ending = replyEnding();
    // Never 0: a line ends in '\n', and a raw read is never empty.
    const std::size_t size = prefix.size() + message.size() + ending.size();
    // One reservation per reply; Buffer caps nothing here (outLimit bounds the batch). No
    // room on the heap: the reply is not written, and the connection closes.
    auto span = out.writable(size);
    if (span.size() < size)
        return;
    char *p = span.data();
    std::memcpy(p, prefix.data(), prefix.size());
    if (!message.empty())
        std::memcpy(p + prefix.size(), message.data(), message.size());
    if (!ending.empty())
        std::memcpy(p + prefix.size() + message.size(), ending.data(), ending.size());
    out.commit(size);
}

Verdict EchoService::onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool) noexcept
{
    if (in.empty() || out.cost() >= outLimit)
        return Verdict::Continue;
    if (out.empty()) {
        out.swap(in); // no copy: the input becomes the output
        return Verdict::Continue;
    }
    out.append(in.view());
    in.consume(in.readable());
    return Verdict::Continue;
}

} // namespace pisock
