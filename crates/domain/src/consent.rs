//! May we contact this person on this channel? The one rule every send goes through
//! (sequences, single e-mails, confirmations, invitations), kept pure so it can be
//! tested over every order of events.
//!
//! A person's consent per channel is the latest of their consent records for it: a
//! grant permits, a withdrawal forbids, a grant waiting for its double opt-in
//! confirmation (`pending`) permits only the confirmation message itself. Whatever the
//! consent says, nothing goes to an address on the suppression list, to a person whose
//! data was erased, or to an e-mail address that bounced hard.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a message reaches a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Email,
    Phone,
    Sms,
}

impl ContactChannel {
    pub const ALL: [ContactChannel; 3] = [
        ContactChannel::Email,
        ContactChannel::Phone,
        ContactChannel::Sms,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Email => "email",
            ContactChannel::Phone => "phone",
            ContactChannel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<ContactChannel> {
        ContactChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What one consent record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Granted,
    Withdrawn,
    /// Given on a form with double opt-in, not yet confirmed from the e-mail.
    Pending,
}

impl ConsentStatus {
    pub fn parse(s: &str) -> Option<ConsentStatus> {
        match s {
            "granted" => Some(ConsentStatus::Granted),
            "withdrawn" => Some(ConsentStatus::Withdrawn),
            "pending" => Some(ConsentStatus::Pending),
            _ => None,
        }
    }
}

/// One consent record of a person (its evidence lives with it in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRecord {
    pub channel: ContactChannel,
    pub status: ConsentStatus,
    /// Epoch ms; records at the same instant count in the order given.
    pub at: i64,
}

/// Why a message is sent: the rules differ for the one message a person's own
/// request calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Nurture, newsletters, sequences: needs a granted consent.
    Marketing,
    /// The double opt-in confirmation: needs the consent to be pending.
    ConfirmConsent,
    /// What the person just asked for themselves (a booking's invitation): needs no
    /// marketing consent, but is still never sent to a suppressed, erased or bounced
    /// address.
    Requested,
}

/// What is known about the person's address on the channel besides their consents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressFacts {
    /// The lead has an address on this channel at all.
    pub has_address: bool,
    /// The address is on the suppression list.
    pub suppressed: bool,
    /// The person's data was erased (a tombstone is all that is left).
    pub erased: bool,
    /// E-mail only: the address bounced hard.
    pub hard_bounced: bool,
}

/// Why a message may not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoAddress,
    Erased,
    Suppressed,
    HardBounced,
    /// No consent was ever recorded for the channel.
    NoConsent,
    Withdrawn,
    /// Consent waits for its double opt-in confirmation.
    NotConfirmed,
    /// A confirmation asked for a consent that is not pending.
    NothingToConfirm,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NoAddress => "no address on this channel",
            Refusal::Erased => "the person's data was erased",
            Refusal::Suppressed => "the address is on the suppression list",
            Refusal::HardBounced => "the address bounced",
            Refusal::NoConsent => "no consent was given for this channel",
            Refusal::Withdrawn => "consent was withdrawn",
            Refusal::NotConfirmed => "consent is waiting for its confirmation",
            Refusal::NothingToConfirm => "there is no pending consent to confirm",
        })
    }
}

/// The person's consent on `channel` now: the latest record for it, if any.
pub fn current_status(records: &[ConsentRecord], channel: ContactChannel) -> Option<ConsentStatus> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.channel == channel)
        .max_by_key(|(i, r)| (r.at, *i))
        .map(|(_, r)| r.status)
}

/// Whether a message for `purpose` may go to the person on `channel`.
pub fn may_send(
    records: &[ConsentRecord],
    channel: ContactChannel,
    address: AddressFacts,
    purpose: Purpose,
) -> Result<(), Refusal> {
    if address.erased {
        return Err(Refusal::Erased);
    }
    if !address.has_address {
        return Err(Refusal::NoAddress);
    }
    if address.suppressed {
        return Err(Refusal::Suppressed);
    }
    if channel == ContactChannel::Email && address.hard_bounced {
        return Err(Refusal::HardBounced);
    }
    let status = current_status(records, channel);
    match (purpose, status) {
        (Purpose::Requested, _) => Ok(()),
        (Purpose::ConfirmConsent, Some(ConsentStatus::Pending)) => Ok(()),
        (Purpose::ConfirmConsent, _) => Err(Refusal::NothingToConfirm),
        (Purpose::Marketing, Some(ConsentStatus::Granted)) => Ok(()),
        (Purpose::Marketing, Some(ConsentStatus::Withdrawn)) => Err(Refusal::Withdrawn),
        (Purpose::Marketing, Some(ConsentStatus::Pending)) => Err(Refusal::NotConfirmed),
        (Purpose::Marketing, None) => Err(Refusal::NoConsent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMAIL: ContactChannel = ContactChannel::Email;

    fn at(channel: ContactChannel, status: ConsentStatus, at: i64) -> ConsentRecord {
        ConsentRecord {
            channel,
            status,
            at,
        }
    }

    fn reachable() -> AddressFacts {
        AddressFacts {
            has_address: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_latest_record_of_the_channel_decides() {
        let records = [
            at(EMAIL, ConsentStatus::Granted, 10),
            at(ContactChannel::Sms, ConsentStatus::Withdrawn, 30),
            at(EMAIL, ConsentStatus::Withdrawn, 20),
        ];
        assert_eq!(
            current_status(&records, EMAIL),
            Some(ConsentStatus::Withdrawn)
        );
        assert_eq!(
            may_send(&records, EMAIL, reachable(), Purpose::Marketing),
            Err(Refusal::Withdrawn)
        );
        assert_eq!(current_status(&records, ContactChannel::Phone), None);
        // Same instant: the later record in the list wins.
        let same = [
            at(EMAIL, ConsentStatus::Withdrawn, 5),
            at(EMAIL, ConsentStatus::Granted, 5),
        ];
        assert_eq!(current_status(&same, EMAIL), Some(ConsentStatus::Granted));
    }

    #[test]
    fn double_opt_in_permits_only_its_confirmation() {
        let pending = [at(EMAIL, ConsentStatus::Pending, 1)];
        assert_eq!(
            may_send(&pending, EMAIL, reachable(), Purpose::Marketing),
            Err(Refusal::NotConfirmed)
        );
        assert_eq!(
            may_send(&pending, EMAIL, reachable(), Purpose::ConfirmConsent),
            Ok(())
        );
        let granted = [
            at(EMAIL, ConsentStatus::Pending, 1),
            at(EMAIL, ConsentStatus::Granted, 2),
        ];
        assert_eq!(
            may_send(&granted, EMAIL, reachable(), Purpose::Marketing),
            Ok(())
        );
        assert_eq!(
            may_send(&granted, EMAIL, reachable(), Purpose::ConfirmConsent),
            Err(Refusal::NothingToConfirm)
        );
    }

    #[test]
    fn suppression_erasure_and_bounces_beat_any_consent() {
        let granted = [at(EMAIL, ConsentStatus::Granted, 1)];
        for (facts, refusal) in [
            (
                AddressFacts {
                    suppressed: true,
                    ..reachable()
                },
                Refusal::Suppressed,
            ),
            (
                AddressFacts {
                    erased: true,
                    ..reachable()
                },
                Refusal::Erased,
            ),
            (
                AddressFacts {
                    hard_bounced: true,
                    ..reachable()
                },
                Refusal::HardBounced,
            ),
            (AddressFacts::default(), Refusal::NoAddress),
        ] {
            for purpose in [
                Purpose::Marketing,
                Purpose::Requested,
                Purpose::ConfirmConsent,
            ] {
                assert_eq!(
                    may_send(&granted, EMAIL, facts, purpose),
                    Err(refusal),
                    "{facts:?} {purpose:?}"
                );
            }
        }
        // A bounce is an e-mail matter: an SMS consent still holds.
        let sms = [at(ContactChannel::Sms, ConsentStatus::Granted, 1)];
        let bounced = AddressFacts {
            hard_bounced: true,
            ..reachable()
        };
        assert_eq!(
            may_send(&sms, ContactChannel::Sms, bounced, Purpose::Marketing),
            Ok(())
        );
        // What the person asked for needs no marketing consent.
        assert_eq!(
            may_send(&[], EMAIL, reachable(), Purpose::Requested),
            Ok(())
        );
        assert_eq!(
            may_send(&[], EMAIL, reachable(), Purpose::Marketing),
            Err(Refusal::NoConsent)
        );
    }

    fn channel() -> impl Strategy<Value = ContactChannel> {
        prop_oneof![
            Just(ContactChannel::Email),
            Just(ContactChannel::Phone),
            Just(ContactChannel::Sms)
        ]
    }

    fn status() -> impl Strategy<Value = ConsentStatus> {
        prop_oneof![
            Just(ConsentStatus::Granted),
            Just(ConsentStatus::Withdrawn),
            Just(ConsentStatus::Pending)
        ]
    }

    proptest! {
        /// Over any history of consents and any state of the address, a marketing
        /// message is allowed only when the channel's latest record is a grant and
        /// the address is reachable, not suppressed, not erased and (for e-mail) has
        /// not bounced; and never right after a withdrawal.
        #[test]
        fn nothing_is_sent_without_a_valid_consent(
            history in prop::collection::vec((channel(), status(), 0i64..50), 0..20),
            target in channel(),
            has_address: bool, suppressed: bool, erased: bool, hard_bounced: bool,
        ) {
            let records: Vec<ConsentRecord> = history.iter().map(|&(c, s, t)| at(c, s, t)).collect();
            let facts = AddressFacts { has_address, suppressed, erased, hard_bounced };
            let allowed = may_send(&records, target, facts, Purpose::Marketing).is_ok();
            let latest = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.channel == target)
                .max_by_key(|(i, r)| (r.at, *i))
                .map(|(_, r)| r.status);
            let valid = latest == Some(ConsentStatus::Granted)
                && has_address && !suppressed && !erased
                && !(target == ContactChannel::Email && hard_bounced);
            prop_assert_eq!(allowed, valid);
            if latest == Some(ConsentStatus::Withdrawn) {
                prop_assert!(!allowed);
            }
            // Nothing whatever reaches an erased or suppressed person.
            for purpose in [Purpose::Marketing, Purpose::ConfirmConsent, Purpose::Requested] {
                if erased || suppressed {
                    prop_assert!(may_send(&records, target, facts, purpose).is_err());
                }
            }
        }
    }
}
