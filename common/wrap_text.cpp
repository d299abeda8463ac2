#include "wrap_text.h"

#include <cwchar>
#include <wchar.h>

namespace pisock {

namespace {

// The next character of text: its length in bytes (1 for a byte that is not one) and its
// columns.
struct Glyph {
    std::size_t bytes = 1;
    std::size_t columns = 1;
    wchar_t wc = 0;
};

Glyph nextGlyph(std::string_view text)
{
    std::mbstate_t state{};
    wchar_t wc = 0;
    const std::size_t n = std::mbrtowc(&wc, text.data(), text.size(), &state);
    if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2))
        return {}; // not a character here: one column, as the terminal shows a stray byte
    const int width = ::wcwidth(wc);
    return { n == 0 ? 1 : n, width >= 0 ? static_cast<std::size_t>(width) : 2, wc };
}

// Punctuation a line must not start with (closing) or end with (opening).
bool closing(wchar_t wc)
{
    return std::wcschr(L"，。、；：！？）」』》〉】", wc) != nullptr && wc != 0;
}

bool opening(wchar_t wc)
{
    return std::wcschr(L"（「『《〈【", wc) != nullptr && wc != 0;
}

// One unit the wrapper places whole: a word, or a wide character with the punctuation that
// clings to it; spaced: a space came before it (written unless it starts a line).
struct Unit {
    std::string_view text;
    std::size_t columns = 0;
    bool spaced = false;
    bool lineBreak = false; // a '\n' ends it
};

// The unit at the start of text, and the bytes it and its separator take.
Unit nextUnit(std::string_view text, std::size_t &taken)
{
    bool quoted = false;
    int depth = 0;
    Unit unit;
    std::size_t i = 0;
    bool clingNext = false; // an opening mark: the next character belongs to this unit
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n' || (c == ' ' && !quoted && depth == 0)) {
            unit.lineBreak = c == '\n';
            taken = i + 1;
            unit.text = text.substr(0, i);
            return unit;
        }
        const Glyph g = nextGlyph(text.substr(i));
        if (g.columns == 2 && !quoted && depth == 0 && i > 0 && !clingNext && !closing(g.wc))
            break; // a wide character starts a unit of its own
        if (c == '"')
            quoted = !quoted;
        else if (c == '(' && !quoted)
            ++depth;
        else if (c == ')' && !quoted && depth > 0)
            --depth;
        clingNext = opening(g.wc);
        unit.columns += g.columns;
        i += g.bytes;
        if (g.columns == 2 && !quoted && depth == 0 && !clingNext) {
            // After a wide character a break may come, unless closing marks follow.
            while (i < text.size()) {
                const Glyph next = nextGlyph(text.substr(i));
                if (!closing(next.wc))
                    break;
                unit.columns += next.columns;
                i += next.bytes;
            }
            if (i < text.size() && text[i] != ' ' && text[i] != '\n')
                break;
        }
    }
    taken = i;
    unit.text = text.substr(0, i);
    return unit;
}

} // namespace

std::size_t displayWidth(std::string_view text)
{
    std::size_t columns = 0;
    while (!text.empty()) {
        const Glyph g = nextGlyph(text);
        columns += g.columns;
        text.remove_prefix(g.bytes);
    }
    return columns;
}

std::string wrapText(std::string_view text, std::size_t width, std::size_t indent)
{
    std::string out;
    std::size_t column = 0;
    const std::string margin(indent, ' ');
    bool spaced = false; // the unit to come follows a space
    while (!text.empty()) {
        std::size_t taken = 0;
        const Unit unit = nextUnit(text, taken);
        const std::size_t gap = column > 0 && spaced ? 1 : 0;
        if (column > 0 && column + gap + unit.columns > width) {
            out += '\n' + margin;
            column = 0;
        } else if (gap > 0) {
            out += ' ';
            ++column;
        }
        out += unit.text;
        column += unit.columns;
        if (unit.lineBreak) {
            out += '\n' + margin;
            column = 0;
        }
        spaced = taken > unit.text.size() && !unit.lineBreak;
        text.remove_prefix(taken);
    }
    return out;
}

} // namespace pisock
