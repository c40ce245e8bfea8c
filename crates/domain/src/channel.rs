//! Capture channels: where a lead came from, in the trade's own words.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The channel a source or campaign belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    WebForm,
    LandingPage,
    TradeShow,
    HomeShow,
    DirectMail,
    Sem,
    Social,
    Referral,
    Api,
    Import,
    Other,
}

impl Channel {
    pub const ALL: [Channel; 11] = [
        Channel::WebForm,
        Channel::LandingPage,
        Channel::TradeShow,
        Channel::HomeShow,
        Channel::DirectMail,
        Channel::Sem,
        Channel::Social,
        Channel::Referral,
        Channel::Api,
        Channel::Import,
        Channel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebForm => "web_form",
            Channel::LandingPage => "landing_page",
            Channel::TradeShow => "trade_show",
            Channel::HomeShow => "home_show",
            Channel::DirectMail => "direct_mail",
            Channel::Sem => "sem",
            Channel::Social => "social",
            Channel::Referral => "referral",
            Channel::Api => "api",
            Channel::Import => "import",
            Channel::Other => "other",
        }
    }

    /// Consumer channels (home shows, direct mail) usually carry names and postal
    /// addresses but no company or e-mail; matching leans on address fields for them.
    pub fn is_consumer_list(self) -> bool {
        matches!(self, Channel::HomeShow | Channel::DirectMail)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}; expected one of web_form, landing_page, trade_show, home_show, direct_mail, sem, social, referral, api, import, other")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| UnknownChannel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_name() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), c);
        }
    }

    #[test]
    fn parsing_accepts_spaces_dashes_and_case() {
        assert_eq!("Trade Show".parse::<Channel>().unwrap(), Channel::TradeShow);
        assert_eq!(
            "direct-mail".parse::<Channel>().unwrap(),
            Channel::DirectMail
        );
        assert!("fax".parse::<Channel>().is_err());
    }
}
