//! Validation of channel names.
//!
//! A name is a plain relative path: one or more components separated by
//! `/`, none empty, none `.` or `..`, no leading `/`, no NUL byte, at most
//! 255 bytes per component and 1024 in all.

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameError {
    Empty,
    Absolute,
    EmptyComponent,
    DotComponent,
    Nul,
    TooLong,
}

impl NameError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            NameError::Empty => "a name must not be empty",
            NameError::Absolute => "a name must not start with '/'",
            NameError::EmptyComponent => "a name must not contain an empty part ('//' or a trailing '/')",
            NameError::DotComponent => "a name must not contain '.' or '..' parts",
            NameError::Nul => "a name must not contain a NUL byte",
            NameError::TooLong => "a name is limited to 1024 bytes and 255 per part",
        }
    }
}

pub(crate) fn validate(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.starts_with('/') {
        return Err(NameError::Absolute);
    }
    if name.contains('\0') {
        return Err(NameError::Nul);
    }
    if name.len() > 1024 {
        return Err(NameError::TooLong);
    }
    for part in name.split('/') {
        match part {
            "" => return Err(NameError::EmptyComponent),
            "." | ".." => return Err(NameError::DotComponent),
            p if p.len() > 255 => return Err(NameError::TooLong),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_paths() {
        for ok in ["echo", "a/b/c", "my-server_1.0", "..x", "x.."] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate("/abs"), Err(NameError::Absolute));
        assert_eq!(validate("a//b"), Err(NameError::EmptyComponent));
        assert_eq!(validate("a/"), Err(NameError::EmptyComponent));
        assert_eq!(validate(".."), Err(NameError::DotComponent));
        assert_eq!(validate("a/../b"), Err(NameError::DotComponent));
        assert_eq!(validate("./a"), Err(NameError::DotComponent));
        assert_eq!(validate("a\0b"), Err(NameError::Nul));
        assert_eq!(validate(&"x".repeat(256)), Err(NameError::TooLong));
        assert_eq!(validate(&"ab/".repeat(400)), Err(NameError::TooLong));
    }
}
