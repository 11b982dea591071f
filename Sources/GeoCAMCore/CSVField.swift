/// CSV fields as RFC 4180 writes them: quoted (with inner quotes doubled) only when they hold a
/// comma, a quote or a line break. One rule for every CSV GeoCAM writes.
public enum CSVField {
  public static func escape(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    var out = "\""
    for c in s { out += c == "\"" ? "\"\"" : String(c) }
    return out + "\""
  }
}
