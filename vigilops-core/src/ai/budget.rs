//! The prompt's token budget: an estimate of a prompt's size made before sending, and what to do
//! when it is over (refuse, or trim the largest message in the middle).
//!
//! **The estimate** is a heuristic, not a tokenizer (the provider's tokenizer is not available
//! offline and differs per model). It is meant to err high, so an oversized prompt is refused here
//! rather than by the provider after a paid round trip:
//! - ASCII text counts one token per 3 bytes, rounded up (BPE tokenizers such as DeepSeek's and
//!   OpenAI's average about 4 characters per token on English and logs);
//! - every other character counts one token (a CJK character is about 0.6 tokens in DeepSeek's
//!   tokenizer, 1–2 in cl100k);
//! - each message adds 4 tokens of framing and the request 3 for the reply's priming, as in
//!   OpenAI's published counting recipe.

use super::error::LlmError;
use super::llm::{ChatMessage, Role};

/// Framing tokens per message.
const TOKENS_PER_MESSAGE: usize = 4;
/// Tokens that prime the reply.
const TOKENS_PER_REQUEST: usize = 3;
/// A message is never trimmed below this many characters; past that the prompt is refused.
const MIN_TRIMMED_CHARS: usize = 256;

/// What to do with a prompt over its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Refuse it with [`LlmError::BudgetExceeded`] (the default: the caller decides what to cut).
    #[default]
    Refuse,
    /// Cut the middle out of the largest non-system message, keeping its start and end (so a
    /// fenced data block keeps both fences) and saying how much was cut.
    TrimLargest,
}

/// The estimated tokens of `text` (see the module documentation).
pub fn estimate_text_tokens(text: &str) -> usize {
    let (ascii, other) = text.chars().fold((0_usize, 0_usize), |(ascii, other), c| {
        if c.is_ascii() {
            (ascii + 1, other)
        } else {
            (ascii, other + 1)
        }
    });
    ascii.div_ceil(3) + other
}

/// The estimated prompt tokens of `messages`.
pub fn estimate_tokens(messages: &[ChatMessage]) -> usize {
    TOKENS_PER_REQUEST
        + messages
            .iter()
            .map(|message| TOKENS_PER_MESSAGE + estimate_text_tokens(&message.content))
            .sum::<usize>()
}

/// Makes `messages` fit `budget` estimated tokens, or says they cannot; returns the estimate of
/// what will be sent.
pub fn fit(
    messages: &mut [ChatMessage],
    budget: usize,
    overflow: Overflow,
) -> Result<usize, LlmError> {
    let mut estimated = estimate_tokens(messages);
    if estimated <= budget {
        return Ok(estimated);
    }
    let exceeded = |estimated| LlmError::BudgetExceeded { estimated, budget };
    if overflow == Overflow::Refuse {
        return Err(exceeded(estimated));
    }
    // Each round removes at least the excess, so two or three rounds settle it; the bound only
    // guards against an estimate that stops shrinking.
    for _ in 0..16 {
        let Some(largest) = messages
            .iter_mut()
            .filter(|message| message.role != Role::System)
            .max_by_key(|message| message.content.chars().count())
        else {
            return Err(exceeded(estimated));
        };
        let length = largest.content.chars().count();
        // Three characters per excess token covers ASCII; other text is over-trimmed a little.
        let excess = estimated - budget;
        let cut = (excess * 3 + 64).min(length);
        if length.saturating_sub(cut) < MIN_TRIMMED_CHARS {
            return Err(exceeded(estimated));
        }
        largest.content = cut_middle(&largest.content, cut);
        estimated = estimate_tokens(messages);
        if estimated <= budget {
            return Ok(estimated);
        }
    }
    Err(exceeded(estimated))
}

/// `text` without `cut` characters from its middle, with a marker saying so.
fn cut_middle(text: &str, cut: usize) -> String {
    let length = text.chars().count();
    let keep = length.saturating_sub(cut);
    let head = keep / 2;
    let tail = keep - head;
    let mut result: String = text.chars().take(head).collect();
    result.push_str(&format!(
        "\n[… {} characters trimmed to fit the token budget …]\n",
        length - keep
    ));
    result.extend(text.chars().skip(length - tail));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_ascii_by_threes_and_other_characters_one_each() {
        assert_eq!(estimate_text_tokens(""), 0);
        assert_eq!(estimate_text_tokens("abc"), 1);
        assert_eq!(estimate_text_tokens("abcd"), 2);
        assert_eq!(estimate_text_tokens("磁盘已满"), 4);
        let messages = [ChatMessage::system("abc"), ChatMessage::user("磁盘")];
        assert_eq!(estimate_tokens(&messages), 3 + (4 + 1) + (4 + 2));
    }

    #[test]
    fn a_prompt_within_budget_is_untouched() {
        let mut messages = vec![ChatMessage::user("hello")];
        assert_eq!(fit(&mut messages, 100, Overflow::Refuse).unwrap(), 9);
        assert_eq!(messages[0].content, "hello");
    }

    #[test]
    fn an_oversized_prompt_is_refused_by_default() {
        let mut messages = vec![ChatMessage::user("x".repeat(3000))];
        match fit(&mut messages, 500, Overflow::Refuse) {
            Err(LlmError::BudgetExceeded { estimated, budget }) => {
                assert_eq!((estimated, budget), (1007, 500));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trimming_cuts_the_middle_of_the_largest_message_and_keeps_both_ends() {
        let data = format!("BEGIN\n{}\nEND", "log line\n".repeat(500));
        let mut messages = vec![
            ChatMessage::system("you are an SRE"),
            ChatMessage::user(data),
        ];
        let estimated = fit(&mut messages, 600, Overflow::TrimLargest).unwrap();
        assert!(estimated <= 600, "{estimated}");
        assert_eq!(estimated, estimate_tokens(&messages));
        let content = &messages[1].content;
        assert!(content.starts_with("BEGIN\nlog line"), "{content}");
        assert!(content.ends_with("log line\n\nEND"), "{content}");
        assert!(content.contains("characters trimmed to fit the token budget"));
        assert_eq!(messages[0].content, "you are an SRE");
    }

    #[test]
    fn a_system_prompt_alone_over_budget_is_refused_even_when_trimming() {
        let mut messages = vec![
            ChatMessage::system("rules ".repeat(1000)),
            ChatMessage::user("short question"),
        ];
        assert!(matches!(
            fit(&mut messages, 100, Overflow::TrimLargest),
            Err(LlmError::BudgetExceeded { .. })
        ));
    }
}
