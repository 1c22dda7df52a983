"""Row tables read from ``.csv`` / ``.xlsx`` files, recognised by their header: the sales report,
the customer list and customer map, manual intent labels and case resolutions, marketplace
ratings. :mod:`.reader` reads a sheet, :mod:`.detect` names its kind."""
