#include "wrap_text.h"

namespace pisock {

namespace {

// Where the word at the start of text ends: a space or a line break, not within "quotes" or
// (parentheses), so that "(default 5m)" stays on one line.
std::size_t wordEnd(std::string_view text)
{
    bool quoted = false;
    int depth = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"')
            quoted = !quoted;
        else if (c == '(' && !quoted)
            ++depth;
        else if (c == ')' && !quoted && depth > 0)
            --depth;
        else if (c == '\n' || (c == ' ' && !quoted && depth == 0))
            return i;
    }
    return std::string_view::npos;
}

} // namespace

std::string wrapText(std::string_view text, std::size_t width, std::size_t indent)
{
    std::string out;
    std::size_t column = 0;
    const std::string margin(indent, ' ');
    while (!text.empty()) {
        const std::size_t end = wordEnd(text);
        const std::string_view word = text.substr(0, end);
        if (column > 0 && column + 1 + word.size() > width) {
            out += '\n' + margin;
            column = 0;
        } else if (column > 0) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        if (end == std::string_view::npos)
            break;
        if (text[end] == '\n') {
            out += '\n' + margin;
            column = 0;
        }
        text.remove_prefix(end + 1);
    }
    return out;
}

} // namespace pisock
