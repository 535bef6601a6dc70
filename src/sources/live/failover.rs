//! Which apiserver the watchers talk to: the kubeconfig's server (normally the load
//! balancer) or, while it is down, one master's own apiserver, as an operator would point
//! kubectl at a master. Switching restarts the watches so none hangs on the dead path.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use kube::Client;
use tokio::sync::watch;

/// The route every watcher's requests take.
pub struct Route {
    active: RwLock<Active>,
    restarts: watch::Sender<u64>,
    /// Control-plane node → its apiserver's `ip:port`, from the API's own objects.
    masters: watch::Sender<BTreeMap<String, String>>,
    /// Clients for the masters, by address, built once.
    direct: Mutex<HashMap<String, Client>>,
    config: kube::Config,
}

#[derive(Clone)]
struct Active {
    client: Client,
    /// The master talked to directly; `None` while going through the endpoint.
    via: Option<(String, String)>,
}

impl Route {
    pub fn new(endpoint: Client, config: kube::Config) -> Arc<Self> {
        Arc::new(Self {
            active: RwLock::new(Active {
                client: endpoint,
                via: None,
            }),
            restarts: watch::channel(0).0,
            masters: watch::channel(BTreeMap::new()).0,
            direct: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// A client whose every request goes wherever the route points at the time.
    pub fn client(self: &Arc<Self>) -> Client {
        let route = self.clone();
        let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| {
            let client = route.read().client;
            async move { client.send(req).await }
        });
        Client::new(svc, "default")
    }

    fn read(&self) -> Active {
        self.active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `(node, address)` of the master talked to directly, if the endpoint is bypassed.
    pub fn via(&self) -> Option<(String, String)> {
        self.read().via
    }

    /// Points every watcher at `via` (a master) or back at the endpoint (`None`).
    pub fn switch(&self, endpoint: &Client, via: Option<(String, String)>) {
        let client = match &via {
            Some((_, addr)) => match self.direct(addr) {
                Some(c) => c,
                None => return,
            },
            None => endpoint.clone(),
        };
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Active { client, via };
        self.restarts.send_modify(|g| *g += 1);
    }

    /// Changes each time the route switches: watchers start over on the new path.
    pub fn restarts(&self) -> watch::Receiver<u64> {
        self.restarts.subscribe()
    }

    pub fn set_master(&self, node: &str, address: Option<String>) {
        self.masters.send_if_modified(|m| match address {
            Some(a) => m.insert(node.to_string(), a.clone()) != Some(a),
            None => m.remove(node).is_some(),
        });
    }

    /// Changes whenever a master's apiserver address does.
    pub fn watch_masters(&self) -> watch::Receiver<BTreeMap<String, String>> {
        self.masters.subscribe()
    }

    /// The cluster CA certificates from the kubeconfig (DER), as every client trusts them.
    pub fn roots(&self) -> Vec<Vec<u8>> {
        self.config.root_cert.clone().unwrap_or_default()
    }

    pub fn masters(&self) -> BTreeMap<String, String> {
        self.masters.borrow().clone()
    }

    /// A client for one master's apiserver: the kubeconfig's credentials and CA, that
    /// master's address (kubeadm puts the advertise address in the serving cert's SANs).
    pub fn direct(&self, address: &str) -> Option<Client> {
        let mut cache = self.direct.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(address) {
            return Some(c.clone());
        }
        let mut config = self.config.clone();
        config.cluster_url = format!("https://{address}").parse().ok()?;
        let client = Client::try_from(config).ok()?;
        cache.insert(address.to_string(), client.clone());
        Some(client)
    }
}
