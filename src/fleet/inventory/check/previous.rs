//! `previous_address` of a `[[hosts]]` entry: where the master it replaces was. Its
//! `kubeadm reset -f` runs there, so it must be an address, on a control plane, and no
//! other host's (a reset there would wipe a live node).

use toml::Spanned;

use super::{Checker, RawHost, same_host};
use crate::inventory::{Host, InventoryError, Role};

impl Checker<'_> {
    /// `previous_address`: where the machine this master replaces was (its `kubeadm reset`
    /// runs there), an address like `address`, on a control plane only.
    pub(super) fn previous_address(
        &self,
        table: &RawHost,
        role: Role,
        field: &dyn Fn(&str) -> String,
    ) -> Result<Option<String>, InventoryError> {
        let Some(prev) = &table.previous_address else {
            return Ok(None);
        };
        let f = field("previous_address");
        if role != Role::ControlPlane {
            let why = "only a control plane has one: the address of the master it replaces \
                       (hatui wizard --replace resets the old host there)";
            return Err(self.at(prev, &f, why.into()));
        }
        self.host_address(prev, &f)?;
        Ok(Some(prev.get_ref().clone()))
    }

    /// No `previous_address` is another host's address.
    pub(super) fn previous_not_taken(
        &self,
        raw: &[Spanned<RawHost>],
        hosts: &[Host],
    ) -> Result<(), InventoryError> {
        for (i, h) in raw.iter().enumerate() {
            let Some(prev) = &h.get_ref().previous_address else {
                continue;
            };
            let other = hosts
                .iter()
                .enumerate()
                .find(|(j, o)| *j != i && (same_host(&o.address, prev.get_ref())));
            if let Some((j, o)) = other {
                return Err(self.at(
                    prev,
                    &format!("hosts[{i}].previous_address"),
                    format!(
                        "{} is hosts[{j}]'s address ({}): the old machine's kubeadm reset would \
                         wipe a live node. Give the address the replaced master had",
                        prev.get_ref(),
                        o.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::inventory::parse;

    fn inventory(extra: &str, worker_extra: &str) -> String {
        format!(
            "endpoint = \"k8s-api.example.internal:6443\"\n\n[[hosts]]\nname = \"cp-1\"\naddress = \"10.0.0.11\"\nrole = \"control-plane\"\n{extra}\n[[hosts]]\nname = \"w-1\"\naddress = \"10.0.0.21\"\nrole = \"worker\"\n{worker_extra}"
        )
    }

    #[test]
    fn previous_address_is_kept_and_names_the_old_machine() {
        let inv = parse("i.toml", &inventory("previous_address = \"10.0.0.9\"", "")).unwrap();
        let cp = &inv.hosts[0];
        assert_eq!(cp.previous_address.as_deref(), Some("10.0.0.9"));
        let old = cp.previous().unwrap();
        assert_eq!(
            (old.name.as_str(), old.address.as_str()),
            ("cp-1@10.0.0.9", "10.0.0.9")
        );
        assert_eq!(inv.previous_hosts().count(), 1);
        // The same address as the entry's: the old machine is the new one's place.
        let same = parse("i.toml", &inventory("previous_address = \"10.0.0.11\"", "")).unwrap();
        assert!(same.hosts[0].previous().is_none());
    }

    #[test]
    fn a_bad_previous_address_is_an_error_with_its_file_line_and_field() {
        let e = parse(
            "i.toml",
            &inventory("previous_address = \"not an address\"", ""),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "i.toml:7: hosts[0].previous_address: expected an IP address or DNS name, got \"not an address\""
        );
        let e = parse("i.toml", &inventory("", "previous_address = \"10.0.0.9\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("i.toml:12: hosts[1].previous_address: only a control plane"),
            "{e}"
        );
        let e = parse("i.toml", &inventory("previous_address = \"10.0.0.21\"", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "i.toml:7: hosts[0].previous_address: 10.0.0.21 is hosts[1]'s address (w-1)"
            ),
            "{e}"
        );
    }
}
