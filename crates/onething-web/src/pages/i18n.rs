//! Messages of the pages in Chinese (zh-CN, the default) and English, from `locales/*.toml` compiled into the
//! binary. A file is TOML tables of strings; a key is `table.name`. `{0}`, `{1}` mark arguments.
//! The language comes from the `lang` cookie (the switch), else from `Accept-Language`, else zh-CN.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s == "zh" || s.starts_with("zh-") || s.starts_with("zh_") {
            Some(Lang::Zh)
        } else if s == "en" || s.starts_with("en-") || s.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The best language of an `Accept-Language` header (by q-value, first wins a tie), or zh-CN.
    pub fn negotiate(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(20) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q =
                it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, l)| l)
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

pub(crate) const ZH_SOURCE: &str = include_str!("../../locales/zh-CN.toml");
pub(crate) const EN_SOURCE: &str = include_str!("../../locales/en.toml");

/// Flattens a locale file into `table.key → text`. A file that does not parse gives an empty map (the tests
/// make sure both parse).
pub(crate) fn flatten(source: &str) -> HashMap<String, String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
        for (k, v) in table {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::String(s) => {
                    out.insert(key, s.clone());
                }
                toml::Value::Table(t) => walk(&key, t, out),
                _ => {}
            }
        }
    }
    let mut out = HashMap::new();
    if let Ok(table) = source.parse::<toml::Table>() {
        walk("", &table, &mut out);
    }
    out
}

static ZH: LazyLock<HashMap<String, String>> = LazyLock::new(|| flatten(ZH_SOURCE));
static EN: LazyLock<HashMap<String, String>> = LazyLock::new(|| flatten(EN_SOURCE));

/// The messages of one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    fn map(&self) -> &'static HashMap<String, String> {
        match self.lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The message of a key (the key itself when missing: the tests make sure none is).
    pub fn s<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.map().get(key).map_or(key, String::as_str)
    }

    /// The message of `prefix.name`, for keys built from a value (a state, a colour, an error code).
    pub fn key(&self, prefix: &str, name: &str) -> String {
        let k = format!("{prefix}.{name}");
        self.map().get(&k).cloned().unwrap_or(k)
    }

    /// A message with one argument `{0}`.
    pub fn f1(&self, key: &str, a: impl std::fmt::Display) -> String {
        self.s(key).replace("{0}", &a.to_string())
    }

    /// A message with two arguments `{0}` and `{1}`.
    pub fn f2(&self, key: &str, a: impl std::fmt::Display, b: impl std::fmt::Display) -> String {
        self.s(key).replace("{0}", &a.to_string()).replace("{1}", &b.to_string())
    }

    /// Picks the Chinese or the English text of catalogue data (which carries both).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::En if !en.is_empty() => en,
            _ => zh,
        }
    }

    /// Working minutes as days, hours and minutes (1 day = `day` minutes).
    pub fn minutes(&self, minutes: u64, day: u64) -> String {
        let day = day.max(1);
        let (d, rest) = (minutes / day, minutes % day);
        let (h, m) = (rest / 60, rest % 60);
        let mut parts = Vec::new();
        if d > 0 {
            parts.push(self.f1("time.days", d));
        }
        if h > 0 {
            parts.push(self.f1("time.hours", h));
        }
        if m > 0 || parts.is_empty() {
            parts.push(self.f1("time.minutes", m));
        }
        parts.join(if self.lang == Lang::En { " " } else { "" })
    }

    /// A working-time limit (`0.5d`, `3h`) in words.
    pub fn limit(&self, d: onething_core::duration::WorkingDuration) -> String {
        use onething_core::duration::WorkingDuration;
        match d {
            WorkingDuration::Days { .. } => {
                let text = d.to_string();
                self.f1("time.working_days", text.trim_end_matches('d'))
            }
            WorkingDuration::Minutes(m) => self.f1("time.working", self.minutes(m, u64::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(source: &str) -> BTreeSet<String> {
        flatten(source).into_keys().collect()
    }

    #[test]
    fn both_locales_parse_and_have_the_same_keys() {
        assert!(ZH_SOURCE.parse::<toml::Table>().is_ok(), "zh-CN.toml does not parse");
        assert!(EN_SOURCE.parse::<toml::Table>().is_ok(), "en.toml does not parse");
        let (zh, en) = (keys(ZH_SOURCE), keys(EN_SOURCE));
        assert!(zh.len() > 100, "{}", zh.len());
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only in zh-CN: {only_zh:?}; only in en: {only_en:?}");
        for (k, v) in flatten(ZH_SOURCE).iter().chain(flatten(EN_SOURCE).iter()) {
            assert!(!v.trim().is_empty(), "{k} is empty");
        }
    }

    #[test]
    fn accept_language_is_negotiated() {
        assert_eq!(Lang::negotiate(""), Lang::Zh);
        assert_eq!(Lang::negotiate("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("fr-FR, en;q=0.5, zh-CN;q=0.8"), Lang::Zh);
        assert_eq!(Lang::negotiate("de"), Lang::Zh);
        assert_eq!(Lang::negotiate("zh-TW;q=0.1, en-GB"), Lang::En);
    }

    #[test]
    fn durations_read_as_words() {
        let zh = Tr::new(Lang::Zh);
        let en = Tr::new(Lang::En);
        assert_eq!(zh.minutes(390 + 75, 390), "1天1小时15分钟");
        assert_eq!(en.minutes(45, 390), "45 min");
        let half: onething_core::duration::WorkingDuration = "0.5d".parse().unwrap_or_default();
        assert_eq!(zh.limit(half), "0.5个工作日");
        assert_eq!(en.limit(half), "0.5 working days");
    }
}
