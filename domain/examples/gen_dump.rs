use chrono::{TimeZone, Utc};
fn main() {
    let g = domain::generate::Generator::new(5, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().unwrap());
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    for i in args { println!("{}", serde_json::to_string_pretty(&g.conversation(i)).unwrap()); }
}
