#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pisock {

// The word of words nearest to word, for "did you mean ...?": by edit distance (insertions,
// deletions, substitutions and swaps of two neighbours each count one), at most 2 and at most
// a third of word's length; nothing if none is that near. Ties go to the first in words.
std::optional<std::string> closestWord(std::string_view word,
                                       const std::vector<std::string> &words);

// For an option a command line does not know ("--mdoe", "--mdoe=echo", "-mdoe"): the long
// option meant ("--mode"), from longNames (without their dashes); nothing if none is near.
std::optional<std::string> meantOption(std::string_view given,
                                       const std::vector<std::string> &longNames);

// The edit distance closestWord() uses (optimal string alignment).
std::size_t editDistance(std::string_view a, std::string_view b);

} // namespace pisock
