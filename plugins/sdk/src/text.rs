//! Text comparison helpers shared by plugins.

/// Lowercase, without French accents, typographic apostrophes as `'`, runs of spaces
/// as one: "  Médecine  Générale " → "medecine generale". For matching what people
/// type against what a file or another person wrote.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let c = match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' | 'ä' => 'a',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            'œ' => {
                out.push('o');
                'e'
            }
            'æ' => {
                out.push('a');
                'e'
            }
            '’' | '\'' | 'ʼ' => '\'',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_accents_apostrophes_and_spaces() {
        assert_eq!(fold("  Médecine  Générale "), "medecine generale");
        assert_eq!(
            fold("Libellé civilité d’exercice"),
            "libelle civilite d'exercice"
        );
        assert_eq!(fold("ŒDÈME Cœur"), "oedeme coeur");
        assert_eq!(fold("ÉVREUX"), "evreux");
    }
}
