"""LinkedIn (Posts API, Community Management API): members and the organizations they administer."""
