//! The payment gateway: a port in the domain, so that charges are written against what a
//! provider does (charge a source, refund a charge) and a real provider can be plugged in
//! later. [`SandboxGateway`] is the one Agora ships: it understands the well-known test tokens
//! and moves no money.

use async_trait::async_trait;
use rand::RngCore;

/// What to charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRequest<'a> {
    /// Amount in minor units (`1999` = 19.99); positive.
    pub amount: i64,
    /// ISO 4217 code, lower case (`usd`).
    pub currency: &'a str,
    /// The payment source: a card token.
    pub source: &'a str,
}

/// Why a card was refused. A refusal is an answer, not a failure: the charge is recorded as
/// `failed` with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// The issuer declined the card.
    CardDeclined,
    /// Not enough funds.
    InsufficientFunds,
}

/// What the gateway did with a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Money was taken; `reference` names the charge at the provider (for refunds).
    Succeeded {
        /// The provider's id for the charge.
        reference: String,
    },
    /// The card was refused.
    Declined(Decline),
}

/// The gateway could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The source is no token the gateway knows (a client error: 422).
    #[error("unknown payment source")]
    UnknownSource,
    /// The provider did not answer; nothing is known to have been charged.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// A payment provider.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Charges `req.amount` to `req.source`.
    async fn charge(&self, req: &ChargeRequest<'_>) -> Result<GatewayOutcome, GatewayError>;
    /// Refunds `amount` of the charge the provider knows as `reference`.
    async fn refund(&self, reference: &str, amount: i64) -> Result<(), GatewayError>;
}

/// The sandbox: `tok_visa` succeeds, `tok_chargeDeclined` and `tok_insufficientFunds` are
/// declined, anything else is an unknown source. Refunds of its own charges succeed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxGateway;

/// The test tokens the sandbox understands.
pub const SANDBOX_TOKENS: [&str; 3] = ["tok_visa", "tok_chargeDeclined", "tok_insufficientFunds"];

/// The prefix of the sandbox's charge references.
const REFERENCE_PREFIX: &str = "ch_sandbox_";

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn charge(&self, req: &ChargeRequest<'_>) -> Result<GatewayOutcome, GatewayError> {
        match req.source {
            "tok_visa" => {
                let mut id = [0u8; 12];
                rand::thread_rng().fill_bytes(&mut id);
                let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
                Ok(GatewayOutcome::Succeeded { reference: format!("{REFERENCE_PREFIX}{hex}") })
            }
            "tok_chargeDeclined" => Ok(GatewayOutcome::Declined(Decline::CardDeclined)),
            "tok_insufficientFunds" => Ok(GatewayOutcome::Declined(Decline::InsufficientFunds)),
            _ => Err(GatewayError::UnknownSource),
        }
    }

    async fn refund(&self, reference: &str, amount: i64) -> Result<(), GatewayError> {
        if reference.starts_with(REFERENCE_PREFIX) && amount > 0 { Ok(()) } else { Err(GatewayError::UnknownSource) }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(source: &str) -> ChargeRequest<'_> {
        ChargeRequest { amount: 1999, currency: "usd", source }
    }

    #[tokio::test]
    async fn the_sandbox_understands_the_test_tokens() {
        let g = SandboxGateway;
        let ok = g.charge(&req("tok_visa")).await.unwrap();
        let GatewayOutcome::Succeeded { reference } = ok else { panic!("tok_visa succeeds") };
        assert!(reference.starts_with(REFERENCE_PREFIX));
        let again = g.charge(&req("tok_visa")).await.unwrap();
        assert_ne!(again, GatewayOutcome::Succeeded { reference: reference.clone() }, "references are unique");
        assert_eq!(
            g.charge(&req("tok_chargeDeclined")).await.unwrap(),
            GatewayOutcome::Declined(Decline::CardDeclined)
        );
        assert_eq!(
            g.charge(&req("tok_insufficientFunds")).await.unwrap(),
            GatewayOutcome::Declined(Decline::InsufficientFunds)
        );
        for unknown in ["", "tok_mastercard", "TOK_VISA", "tok_visa "] {
            assert_eq!(g.charge(&req(unknown)).await, Err(GatewayError::UnknownSource), "{unknown:?}");
        }
        g.refund(&reference, 500).await.unwrap();
        assert_eq!(g.refund("ch_elsewhere", 500).await, Err(GatewayError::UnknownSource));
    }
}
