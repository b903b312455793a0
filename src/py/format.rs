//! The format-spec mini-language (`f"{x:>8.2f}"`, `format()`), `%`-formatting and the
//! number formatting both share, matching CPython's output.

use super::error::{ExcType, PyErr};
use super::repr::{float_repr, shortest_digits};
use super::value::{PResult, Value};
use num_bigint::BigInt;

#[derive(Debug, Default, Clone)]
pub struct Spec {
    pub fill: Option<char>,
    pub align: Option<char>,
    pub sign: Option<char>,
    pub alt: bool,
    pub zero: bool,
    pub width: usize,
    pub grouping: Option<char>,
    pub precision: Option<usize>,
    pub ty: Option<char>,
}

pub fn parse_spec(spec: &str) -> PResult<Spec> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let mut sp = Spec::default();
    let is_align = |c: char| matches!(c, '<' | '>' | '=' | '^');
    if chars.len() >= 2 && is_align(chars[1]) {
        sp.fill = Some(chars[0]);
        sp.align = Some(chars[1]);
        i = 2;
    } else if !chars.is_empty() && is_align(chars[0]) {
        sp.align = Some(chars[0]);
        i = 1;
    }
    if i < chars.len() && matches!(chars[i], '+' | '-' | ' ') {
        sp.sign = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == 'z' {
        i += 1;
    }
    if i < chars.len() && chars[i] == '#' {
        sp.alt = true;
        i += 1;
    }
    if i < chars.len() && chars[i] == '0' {
        sp.zero = true;
        i += 1;
    }
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i > start {
        sp.width = chars[start..i].iter().collect::<String>().parse().map_err(|_| bad_spec(spec))?;
    }
    if i < chars.len() && matches!(chars[i], ',' | '_') {
        sp.grouping = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(PyErr::new(ExcType::ValueError, "Format specifier missing precision"));
        }
        sp.precision = Some(chars[start..i].iter().collect::<String>().parse().map_err(|_| bad_spec(spec))?);
    }
    if i < chars.len() {
        sp.ty = Some(chars[i]);
        i += 1;
    }
    if i < chars.len() {
        return Err(bad_spec(spec));
    }
    Ok(sp)
}

fn bad_spec(_spec: &str) -> PyErr {
    PyErr::new(ExcType::ValueError, "Invalid format specifier")
}

/// `format(v, spec)` for the builtin types; `str_of` is `str(v)` for everything else.
pub fn format_value(v: &Value, spec: &str, str_of: &str) -> PResult<String> {
    if spec.is_empty() {
        return Ok(str_of.to_string());
    }
    let sp = parse_spec(spec)?;
    match v {
        Value::Int(_) | Value::Big(_) | Value::Bool(_) => {
            let big = match v {
                Value::Int(i) => BigInt::from(*i),
                Value::Bool(b) => BigInt::from(*b as i64),
                Value::Big(b) => (**b).clone(),
                _ => unreachable!(),
            };
            match sp.ty {
                Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => {
                    use num_traits::ToPrimitive;
                    format_float(big.to_f64().unwrap_or(f64::INFINITY), &sp)
                }
                _ => format_int(&big, &sp, v.type_name().as_str()),
            }
        }
        Value::Float(f) => format_float(*f, &sp),
        Value::Str(s) => {
            if let Some(t) = sp.ty {
                if t != 's' {
                    return Err(unknown_code(t, "str"));
                }
            }
            if sp.sign.is_some() {
                return Err(PyErr::new(ExcType::ValueError, "Sign not allowed in string format specifier"));
            }
            let mut text: String = s.to_string();
            if let Some(p) = sp.precision {
                text = text.chars().take(p).collect();
            }
            Ok(pad(&text, &sp, '<'))
        }
        _ => {
            if spec.is_empty() {
                Ok(str_of.to_string())
            } else {
                Err(PyErr::new(
                    ExcType::TypeError,
                    format!("unsupported format string passed to {}.__format__", v.type_name()),
                ))
            }
        }
    }
}

fn unknown_code(t: char, ty: &str) -> PyErr {
    PyErr::new(ExcType::ValueError, format!("Unknown format code '{t}' for object of type '{ty}'"))
}

/// Pads `body` (sign included) to the spec's width.
fn pad(body: &str, sp: &Spec, default_align: char) -> String {
    let len = body.chars().count();
    if len >= sp.width {
        return body.to_string();
    }
    let fill = sp.fill.unwrap_or(' ');
    let n = sp.width - len;
    let rep = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match sp.align.unwrap_or(default_align) {
        '<' => format!("{body}{}", rep(n)),
        '^' => format!("{}{body}{}", rep(n / 2), rep(n - n / 2)),
        _ => format!("{}{body}", rep(n)),
    }
}

/// Pads a number: `sign` and `digits` apart so that `=` alignment and `0` fill go between.
fn pad_number(sign: &str, digits: &str, sp: &Spec) -> String {
    let (fill, align) = if sp.zero && sp.align.is_none() { ('0', '=') } else { (sp.fill.unwrap_or(' '), sp.align.unwrap_or('>')) };
    let len = sign.chars().count() + digits.chars().count();
    if len >= sp.width {
        return format!("{sign}{digits}");
    }
    let n = sp.width - len;
    let rep = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        '<' => format!("{sign}{digits}{}", rep(n)),
        '^' => format!("{}{sign}{digits}{}", rep(n / 2), rep(n - n / 2)),
        '=' => format!("{sign}{}{digits}", rep(n)),
        _ => format!("{}{sign}{digits}", rep(n)),
    }
}

fn sign_str(neg: bool, sp: &Spec) -> &'static str {
    if neg {
        "-"
    } else {
        match sp.sign {
            Some('+') => "+",
            Some(' ') => " ",
            _ => "",
        }
    }
}

fn group(int_digits: &str, sep: char, every: usize) -> String {
    let chars: Vec<char> = int_digits.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if i > 0 && (chars.len() - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(*c);
    }
    out
}

pub fn format_int(v: &BigInt, sp: &Spec, tyname: &str) -> PResult<String> {
    use num_traits::Signed;
    let neg = v.is_negative();
    let mag = v.abs();
    let (mut digits, prefix, every) = match sp.ty {
        None | Some('d') | Some('n') => (mag.to_str_radix(10), "", 3),
        Some('x') => (mag.to_str_radix(16), "0x", 4),
        Some('X') => (mag.to_str_radix(16).to_uppercase(), "0X", 4),
        Some('o') => (mag.to_str_radix(8), "0o", 4),
        Some('b') => (mag.to_str_radix(2), "0b", 4),
        Some('c') => {
            use num_traits::ToPrimitive;
            let c = v.to_u32().and_then(char::from_u32).ok_or_else(|| PyErr::new(ExcType::OverflowError, "%c arg not in range(0x110000)"))?;
            return Ok(pad(&c.to_string(), sp, '<'));
        }
        Some(t) => return Err(unknown_code(t, tyname)),
    };
    if sp.precision.is_some() {
        return Err(PyErr::new(ExcType::ValueError, "Precision not allowed in integer format specifier"));
    }
    if let Some(g) = sp.grouping {
        digits = group(&digits, g, every);
    }
    let sign = format!("{}{}", sign_str(neg, sp), if sp.alt { prefix } else { "" });
    Ok(pad_number(&sign, &digits, sp))
}

pub fn format_float(f: f64, sp: &Spec) -> PResult<String> {
    let neg = f.is_sign_negative() && !f.is_nan();
    let a = f.abs();
    let upper = matches!(sp.ty, Some('E' | 'F' | 'G'));
    let mut body = if !a.is_finite() {
        let word = if a.is_nan() { "nan" } else { "inf" };
        if sp.ty == Some('%') { format!("{word}%") } else { word.to_string() }
    } else {
        match sp.ty {
            Some('f' | 'F') => fmt_f(a, sp.precision.unwrap_or(6), sp.alt),
            Some('e' | 'E') => fmt_e(a, sp.precision.unwrap_or(6), sp.alt),
            Some('g' | 'G') => fmt_g(a, sp.precision.unwrap_or(6), sp.alt, false),
            Some('n') => fmt_g(a, sp.precision.unwrap_or(6), sp.alt, false),
            Some('%') => format!("{}%", fmt_f(a * 100.0, sp.precision.unwrap_or(6), sp.alt)),
            None => match sp.precision {
                None => float_repr(a),
                Some(p) => fmt_g(a, p, sp.alt, true),
            },
            Some(t) => return Err(unknown_code(t, "float")),
        }
    };
    if upper {
        body = body.to_uppercase();
    }
    if let Some(g) = sp.grouping {
        let (int_part, rest) = match body.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => body.split_at(i),
            None => (body.as_str(), ""),
        };
        body = format!("{}{}", group(int_part, g, 3), rest);
    }
    Ok(pad_number(sign_str(neg, sp), &body, sp))
}

pub fn fmt_f(a: f64, prec: usize, alt: bool) -> String {
    let s = format!("{:.*}", prec, a);
    if alt && prec == 0 {
        format!("{s}.")
    } else {
        s
    }
}

pub fn fmt_e(a: f64, prec: usize, alt: bool) -> String {
    let s = format!("{:.*e}", prec, a);
    let (mant, exp) = s.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let point = if alt && prec == 0 { "." } else { "" };
    format!("{mant}{point}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// `g` formatting; `repr_style` is the no-type-code variant (keeps a `.0`, switches to
/// exponent notation at `exp >= precision`).
pub fn fmt_g(a: f64, prec: usize, alt: bool, repr_style: bool) -> String {
    let p = prec.max(1);
    if a == 0.0 {
        return if repr_style { "0.0".into() } else if alt { format!("0.{}", "0".repeat(p - 1)) } else { "0".into() };
    }
    let e_form = format!("{:.*e}", p - 1, a);
    let (_, exp) = e_form.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    // The no-type-code form switches to exponent notation one digit earlier than `g`.
    let use_exp = if repr_style { exp < -4 || exp >= p as i32 - 1 } else { exp < -4 || exp >= p as i32 };
    if use_exp {
        let mut s = fmt_e(a, p - 1, alt);
        if !alt {
            let (mant, e) = s.split_once('e').expect("exponent");
            let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
            s = format!("{mant}e{e}");
        }
        s
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let mut s = format!("{:.*}", decimals, a);
        if !alt && s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        if repr_style && !s.contains('.') {
            s.push_str(".0");
        }
        s
    }
}

/// Digits of `repr`, used by `round()` and friends.
pub fn repr_digits(f: f64) -> (bool, String, i32) {
    shortest_digits(f)
}

/// One `%` conversion of printf-style formatting.
pub struct PercentSpec {
    pub key: Option<String>,
    pub flags: String,
    pub width: Option<usize>,
    pub star_width: bool,
    pub precision: Option<usize>,
    pub star_precision: bool,
    pub conv: char,
}

/// Splits a `%` format string into literal text and conversions.
pub fn parse_percent(fmt: &str) -> PResult<Vec<Result<String, PercentSpec>>> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = vec![];
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            lit.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if i >= chars.len() {
            return Err(PyErr::new(ExcType::ValueError, "incomplete format"));
        }
        if chars[i] == '%' {
            lit.push('%');
            i += 1;
            continue;
        }
        if !lit.is_empty() {
            out.push(Ok(std::mem::take(&mut lit)));
        }
        let mut key = None;
        if chars[i] == '(' {
            let start = i + 1;
            let mut depth = 1;
            i += 1;
            while i < chars.len() && depth > 0 {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                i += 1;
            }
            if depth > 0 {
                return Err(PyErr::new(ExcType::ValueError, "incomplete format key"));
            }
            key = Some(chars[start..i - 1].iter().collect());
        }
        let mut flags = String::new();
        while i < chars.len() && matches!(chars[i], '-' | '+' | ' ' | '#' | '0') {
            flags.push(chars[i]);
            i += 1;
        }
        let (mut width, mut star_width) = (None, false);
        if i < chars.len() && chars[i] == '*' {
            star_width = true;
            i += 1;
        } else {
            let st = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i > st {
                width = chars[st..i].iter().collect::<String>().parse().ok();
            }
        }
        let (mut precision, mut star_precision) = (None, false);
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            if i < chars.len() && chars[i] == '*' {
                star_precision = true;
                i += 1;
            } else {
                let st = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                precision = Some(chars[st..i].iter().collect::<String>().parse().unwrap_or(0));
            }
        }
        while i < chars.len() && matches!(chars[i], 'h' | 'l' | 'L') {
            i += 1;
        }
        if i >= chars.len() {
            return Err(PyErr::new(ExcType::ValueError, "incomplete format"));
        }
        let conv = chars[i];
        i += 1;
        out.push(Err(PercentSpec { key, flags, width, star_width, precision, star_precision, conv }));
    }
    if !lit.is_empty() {
        out.push(Ok(lit));
    }
    Ok(out)
}

/// Applies a `%` conversion's flags and width to an already converted body.
pub fn percent_pad(sign: &str, body: &str, p: &PercentSpec, numeric: bool) -> String {
    let width = p.width.unwrap_or(0);
    let len = sign.chars().count() + body.chars().count();
    if len >= width {
        return format!("{sign}{body}");
    }
    let n = width - len;
    if p.flags.contains('-') {
        format!("{sign}{body}{}", " ".repeat(n))
    } else if p.flags.contains('0') && numeric {
        format!("{sign}{}{body}", "0".repeat(n))
    } else {
        format!("{}{sign}{body}", " ".repeat(n))
    }
}

pub fn percent_sign(neg: bool, flags: &str) -> &'static str {
    if neg {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    }
}
