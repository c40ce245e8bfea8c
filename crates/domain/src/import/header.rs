//! Recognising column headers: the many ways lead lists name the same field.
//!
//! Badge-scanner exports, CRM exports, direct-mail lists and hand-made spreadsheets all
//! say "E-mail Address", "Email", "Mail" or "E-Mail-Adresse" for the same thing. Headers
//! are compared after folding case and dropping everything but letters and digits, so
//! "First Name", "first_name", "FIRST-NAME" and "Firstname" all meet in `firstname`.

use crate::fields::LeadField;

/// Known header spellings, already folded with [`fold_header`]. English first, then the
/// German, French, Dutch and Spanish words European lists commonly use.
const ALIASES: &[(&str, LeadField)] = &[
    // first name
    ("firstname", LeadField::FirstName),
    ("givenname", LeadField::FirstName),
    ("forename", LeadField::FirstName),
    ("vorname", LeadField::FirstName),
    ("prénom", LeadField::FirstName),
    ("prenom", LeadField::FirstName),
    ("voornaam", LeadField::FirstName),
    ("fname", LeadField::FirstName),
    // last name
    ("lastname", LeadField::LastName),
    ("surname", LeadField::LastName),
    ("familyname", LeadField::LastName),
    ("nachname", LeadField::LastName),
    ("nom", LeadField::LastName),
    ("nomdefamille", LeadField::LastName),
    ("achternaam", LeadField::LastName),
    ("apellido", LeadField::LastName),
    ("apellidos", LeadField::LastName),
    ("lname", LeadField::LastName),
    // full name
    ("name", LeadField::FullName),
    ("fullname", LeadField::FullName),
    ("contactname", LeadField::FullName),
    ("contact", LeadField::FullName),
    ("contactperson", LeadField::FullName),
    ("ansprechpartner", LeadField::FullName),
    ("nomcomplet", LeadField::FullName),
    ("naam", LeadField::FullName),
    // job title
    ("title", LeadField::Title),
    ("jobtitle", LeadField::Title),
    ("position", LeadField::Title),
    ("role", LeadField::Title),
    ("jobrole", LeadField::Title),
    ("jobfunction", LeadField::Title),
    ("funktion", LeadField::Title),
    ("fonction", LeadField::Title),
    ("functie", LeadField::Title),
    ("cargo", LeadField::Title),
    // e-mail
    ("email", LeadField::Email),
    ("emailaddress", LeadField::Email),
    ("mail", LeadField::Email),
    ("workemail", LeadField::Email),
    ("businessemail", LeadField::Email),
    ("emailadresse", LeadField::Email),
    ("courriel", LeadField::Email),
    ("adressemail", LeadField::Email),
    ("adresseemail", LeadField::Email),
    ("emailadres", LeadField::Email),
    ("correo", LeadField::Email),
    ("correoelectrónico", LeadField::Email),
    ("correoelectronico", LeadField::Email),
    // phone
    ("phone", LeadField::Phone),
    ("phonenumber", LeadField::Phone),
    ("telephone", LeadField::Phone),
    ("téléphone", LeadField::Phone),
    ("telephonenumber", LeadField::Phone),
    ("tel", LeadField::Phone),
    ("mobile", LeadField::Phone),
    ("mobilephone", LeadField::Phone),
    ("mobilenumber", LeadField::Phone),
    ("cell", LeadField::Phone),
    ("cellphone", LeadField::Phone),
    ("workphone", LeadField::Phone),
    ("businessphone", LeadField::Phone),
    ("telefon", LeadField::Phone),
    ("telefonnummer", LeadField::Phone),
    ("handy", LeadField::Phone),
    ("telefoon", LeadField::Phone),
    ("telefoonnummer", LeadField::Phone),
    ("teléfono", LeadField::Phone),
    ("telefono", LeadField::Phone),
    // company
    ("company", LeadField::Company),
    ("companyname", LeadField::Company),
    ("organization", LeadField::Company),
    ("organisation", LeadField::Company),
    ("accountname", LeadField::Company),
    ("firma", LeadField::Company),
    ("employer", LeadField::Company),
    ("unternehmen", LeadField::Company),
    ("société", LeadField::Company),
    ("societe", LeadField::Company),
    ("entreprise", LeadField::Company),
    ("bedrijf", LeadField::Company),
    ("bedrijfsnaam", LeadField::Company),
    ("empresa", LeadField::Company),
    // website
    ("website", LeadField::Website),
    ("url", LeadField::Website),
    ("companywebsite", LeadField::Website),
    ("homepage", LeadField::Website),
    ("webseite", LeadField::Website),
    ("siteweb", LeadField::Website),
    // street
    ("street", LeadField::Street),
    ("address", LeadField::Street),
    ("address1", LeadField::Street),
    ("addressline1", LeadField::Street),
    ("streetaddress", LeadField::Street),
    ("mailingstreet", LeadField::Street),
    ("straße", LeadField::Street),
    ("strasse", LeadField::Street),
    ("adresse", LeadField::Street),
    ("adres", LeadField::Street),
    ("straat", LeadField::Street),
    ("dirección", LeadField::Street),
    ("direccion", LeadField::Street),
    // postal code
    ("zip", LeadField::PostalCode),
    ("zipcode", LeadField::PostalCode),
    ("postalcode", LeadField::PostalCode),
    ("postcode", LeadField::PostalCode),
    ("zippostalcode", LeadField::PostalCode),
    ("mailingzippostalcode", LeadField::PostalCode),
    ("mailingpostalcode", LeadField::PostalCode),
    ("plz", LeadField::PostalCode),
    ("postleitzahl", LeadField::PostalCode),
    ("codepostal", LeadField::PostalCode),
    ("códigopostal", LeadField::PostalCode),
    ("codigopostal", LeadField::PostalCode),
    // city
    ("city", LeadField::City),
    ("town", LeadField::City),
    ("ort", LeadField::City),
    ("stadt", LeadField::City),
    ("mailingcity", LeadField::City),
    ("ville", LeadField::City),
    ("plaats", LeadField::City),
    ("woonplaats", LeadField::City),
    ("ciudad", LeadField::City),
    // region
    ("state", LeadField::Region),
    ("region", LeadField::Region),
    ("province", LeadField::Region),
    ("county", LeadField::Region),
    ("stateprovince", LeadField::Region),
    ("mailingstateprovince", LeadField::Region),
    ("bundesland", LeadField::Region),
    ("provincia", LeadField::Region),
    ("provincie", LeadField::Region),
    // country
    ("country", LeadField::Country),
    ("countryregion", LeadField::Country),
    ("mailingcountry", LeadField::Country),
    ("land", LeadField::Country),
    ("pays", LeadField::Country),
    ("país", LeadField::Country),
    ("pais", LeadField::Country),
    // date of birth
    ("dateofbirth", LeadField::DateOfBirth),
    ("dob", LeadField::DateOfBirth),
    ("birthday", LeadField::DateOfBirth),
    ("birthdate", LeadField::DateOfBirth),
    ("geburtsdatum", LeadField::DateOfBirth),
    ("datedenaissance", LeadField::DateOfBirth),
    ("geboortedatum", LeadField::DateOfBirth),
    ("fechadenacimiento", LeadField::DateOfBirth),
];

/// Folds a header for comparison: lower case, letters and digits only.
/// "E-mail Address" and "e_mail address " both become `emailaddress`.
pub(crate) fn fold_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The standard lead field a column header names, if any.
///
/// Matching ignores case, spaces and punctuation, so it accepts common English header
/// names ("E-mail Address", "Job Title", "ZIP Code", "State/Province"), frequent German,
/// French, Dutch and Spanish ones ("Vorname", "Prénom", "PLZ", "Ort", "Land"), and the
/// canonical snake_case field names themselves. Anything else is a custom attribute.
pub fn field_for_header(header: &str) -> Option<LeadField> {
    let folded = fold_header(header);
    if folded.is_empty() {
        return None;
    }
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == folded)
        .map(|(_, field)| *field)
        .or_else(|| {
            // Canonical names ("postal_code") fold to "postalcode"; compare folded too.
            LeadField::ALL
                .into_iter()
                .find(|f| fold_header(f.as_str()) == folded)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use LeadField::*;

    fn check(cases: &[&str], want: LeadField) {
        for h in cases {
            assert_eq!(field_for_header(h), Some(want), "header {h:?}");
        }
    }

    #[test]
    fn first_names() {
        check(
            &[
                "First Name",
                "Firstname",
                "first_name",
                "FIRST-NAME",
                "Given Name",
                "Forename",
                "Vorname",
                "Prénom",
                "PRÉNOM",
                " first name ",
            ],
            FirstName,
        );
    }

    #[test]
    fn last_names() {
        check(
            &[
                "Last Name",
                "Surname",
                "Family Name",
                "Nachname",
                "Nom",
                "last_name",
                "LASTNAME",
            ],
            LastName,
        );
    }

    #[test]
    fn full_names() {
        check(
            &[
                "Name",
                "Full Name",
                "Contact Name",
                "Contact",
                "full_name",
                "NAME",
            ],
            FullName,
        );
    }

    #[test]
    fn titles() {
        check(
            &[
                "Title",
                "Job Title",
                "Position",
                "Role",
                "job-title",
                "title",
            ],
            Title,
        );
    }

    #[test]
    fn emails() {
        check(
            &[
                "Email",
                "E-mail",
                "E-mail Address",
                "Email Address",
                "Mail",
                "Work Email",
                "EMAIL",
                "e_mail",
                "E-Mail-Adresse",
                "email",
            ],
            Email,
        );
    }

    #[test]
    fn phones() {
        check(
            &[
                "Phone",
                "Phone Number",
                "Telephone",
                "Tel",
                "Tel.",
                "Mobile",
                "Mobile Phone",
                "Cell",
                "Work Phone",
                "phone",
                "Telefon",
            ],
            Phone,
        );
    }

    #[test]
    fn companies() {
        check(
            &[
                "Company",
                "Company Name",
                "Organization",
                "Organisation",
                "Account Name",
                "Firma",
                "Employer",
                "company",
            ],
            Company,
        );
    }

    #[test]
    fn websites() {
        check(
            &[
                "Website",
                "Web Site",
                "URL",
                "Company Website",
                "Homepage",
                "website",
            ],
            Website,
        );
    }

    #[test]
    fn streets() {
        check(
            &[
                "Street",
                "Address",
                "Address 1",
                "Address Line 1",
                "Street Address",
                "Mailing Street",
                "street",
                "Straße",
            ],
            Street,
        );
    }

    #[test]
    fn postal_codes() {
        check(
            &[
                "Zip",
                "ZIP Code",
                "Postal Code",
                "Postcode",
                "Post Code",
                "PLZ",
                "postal_code",
                "Zip/Postal Code",
            ],
            PostalCode,
        );
    }

    #[test]
    fn cities_regions_countries() {
        check(&["City", "Town", "Ort", "city"], City);
        check(
            &[
                "State",
                "Region",
                "Province",
                "County",
                "State/Province",
                "region",
            ],
            Region,
        );
        check(&["Country", "Country/Region", "Land", "country"], Country);
    }

    #[test]
    fn dates_of_birth() {
        check(
            &[
                "Date of Birth",
                "DOB",
                "D.O.B.",
                "Birthday",
                "Birth Date",
                "date_of_birth",
            ],
            DateOfBirth,
        );
    }

    #[test]
    fn every_canonical_name_is_recognised() {
        for f in LeadField::ALL {
            assert_eq!(field_for_header(f.as_str()), Some(f));
        }
    }

    #[test]
    fn unknown_and_blank_headers_are_not_fields() {
        for h in [
            "",
            "   ",
            "---",
            "Notes",
            "Badge ID",
            "Lead Source",
            "Emails sent",
            "Phone 2 notes",
            "名前",
        ] {
            assert_eq!(field_for_header(h), None, "header {h:?}");
        }
    }
}
