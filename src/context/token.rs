//! The GitHub token as a secret: it can be handed to the HTTP client, and nothing
//! else. `Debug` and `Display` print `***`, it is not `Serialize`, and every error
//! message that could echo it is passed through [`Token::redact`].

use std::fmt;

/// A GitHub token (`GITHUB_TOKEN`, a PAT or an installation token).
///
/// Printing it in any way shows `***`; only [`Token::expose`] (crate-private) gives
/// the value, and the only caller is the client builder that sets the
/// `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token from a raw value; `None` when it is empty or only whitespace (an
    /// unset `github_token` input arrives as an empty string).
    pub fn new(value: impl Into<String>) -> Option<Token> {
        let value = value.into();
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_string()))
    }

    /// The secret value, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to be a real token; replacing it would garble text.
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "ghp_CANARY0123456789abcdefCANARY";

    #[test]
    fn never_printed() {
        let token = Token::new(CANARY).expect("non-empty");
        assert!(!format!("{token:?}").contains("CANARY"));
        assert!(!format!("{token}").contains("CANARY"));
        assert!(!format!("{:?}", Some(&token)).contains("CANARY"));
        assert_eq!(token.expose(), CANARY);
        assert_eq!(
            token.redact(&format!("bad credentials for {CANARY}!")),
            "bad credentials for ***!"
        );
    }

    #[test]
    fn empty_is_none() {
        assert!(Token::new("").is_none());
        assert!(Token::new("  \n").is_none());
    }
}
