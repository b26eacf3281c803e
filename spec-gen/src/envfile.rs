//! Environment files: `KEY=VALUE` lines, `#` comments, optional `export `
//! prefix and optional single or double quotes around the value.

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct EnvFileError {
    pub line: usize,
    pub message: String,
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic()) && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub fn parse(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(EnvFileError { line: i + 1, message: format!("`{line}` is not KEY=VALUE") });
        };
        let key = key.trim();
        if !valid_name(key) {
            return Err(EnvFileError { line: i + 1, message: format!("`{key}` is not a valid variable name") });
        }
        let value = value.trim();
        let value = unquote(value).unwrap_or(value);
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn unquote(v: &str) -> Option<&str> {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return Some(&v[1..v.len() - 1]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        let v = parse("# c\n\nA=1\nexport B=\"two words\"\nC='x'\nD=\n").unwrap();
        assert_eq!(v, vec![("A".into(), "1".into()), ("B".into(), "two words".into()), ("C".into(), "x".into()), ("D".into(), "".into())]);
        assert_eq!(parse("A=1\nnonsense\n").unwrap_err().line, 2);
        assert!(parse("1A=2").is_err());
    }
}
