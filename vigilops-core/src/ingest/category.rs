//! The category a service gets when it is registered, from its name (first match wins).

const MIDDLEWARE: &[&str] = &[
    "postgres",
    "mysql",
    "redis",
    "rabbitmq",
    "oracle",
    "clickhouse",
    "nacos",
    "kafka",
    "mongo",
    "memcache",
    "elasticsearch",
    "mq",
];

const INFRASTRUCTURE: &[&str] = &[
    "nginx",
    "httpd",
    "apache",
    "caddy",
    "traefik",
    "haproxy",
    "keepalived",
    "crond",
    "ntpd",
    "envoy",
];

/// `middleware`, `infrastructure` or `business`.
pub fn categorize(service_name: &str) -> &'static str {
    let name = service_name.to_lowercase();
    if MIDDLEWARE.iter().any(|word| name.contains(word)) {
        "middleware"
    } else if INFRASTRUCTURE.iter().any(|word| name.contains(word)) {
        "infrastructure"
    } else {
        "business"
    }
}

#[cfg(test)]
mod tests {
    use super::categorize;

    #[test]
    fn categories_from_names() {
        assert_eq!(categorize("postgres (:5432)"), "middleware");
        assert_eq!(categorize("Redis-Cache"), "middleware");
        assert_eq!(categorize("nginx (:80)"), "infrastructure");
        assert_eq!(categorize("backend-health"), "business");
    }
}
