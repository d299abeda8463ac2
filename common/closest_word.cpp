#include "closest_word.h"

#include <algorithm>

namespace pisock {

std::size_t editDistance(std::string_view a, std::string_view b)
{
    // Three rows of the dynamic programme: the swap looks two rows back.
    std::vector<std::size_t> before(b.size() + 1), last(b.size() + 1), row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        last[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({ last[j] + 1, row[j - 1] + 1, last[j - 1] + cost });
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                row[j] = std::min(row[j], before[j - 2] + 1);
        }
        std::swap(before, last);
        std::swap(last, row);
    }
    return last[b.size()];
}

std::optional<std::string> closestWord(std::string_view word, const std::vector<std::string> &words)
{
    const std::size_t limit = std::min<std::size_t>(2, word.size() / 3);
    std::optional<std::string> best;
    std::size_t bestDistance = limit + 1;
    for (const auto &candidate : words) {
        const std::size_t d = editDistance(word, candidate);
        if (d < bestDistance) {
            bestDistance = d;
            best = candidate;
        }
    }
    return best;
}

std::optional<std::string> meantOption(std::string_view given,
                                       const std::vector<std::string> &longNames)
{
    given = given.substr(0, given.find('='));
    while (given.starts_with('-'))
        given.remove_prefix(1);
    auto name = closestWord(given, longNames);
    if (!name)
        return std::nullopt;
    return "--" + *name;
}

} // namespace pisock
