// Needle-in-a-haystack scores.
//
// needle_word_score is the official visualizer's score (mit-han-lab/duo-attention
// eval/needle/visualize.py): both texts are lower-cased and split on whitespace; the score is
// |set(response words) & set(answer words)| / len(answer words). Words keep their punctuation
// ("day." is not "day"), and repeated answer words count once in the numerator but every time in
// the denominator, so the official answer "eat a sandwich and sit in Dolores Park on a sunny
// day." (12 words, "a" twice) scores at most 11/12 — kept, so that our numbers compare with the
// paper's plots.
//
// passkey_exact_score is 1 when the response, after leading whitespace, begins with the key
// exactly (digits or words) and the key is not the start of a longer word or number, else 0.
// Whitespace between the key's characters is ignored on both sides, since word-level
// tokenizers (duo-tiny's) decode the digits of "71432" as "7 1 4 3 2"; so a digit key followed
// by another digit, even after a space ("7 1 4 3 2 9"), is a longer number and scores 0.
#pragma once

#include <string>
#include <vector>

namespace duo::eval {

// Python's str.split(): runs of ASCII whitespace separate words; no empty words.
std::vector<std::string> split_words(const std::string& text);
double needle_word_score(const std::string& response, const std::string& answer);
double passkey_exact_score(const std::string& response, const std::string& key);

}  // namespace duo::eval
