from coopmatrix.core.registry import DomainApp


class VocabularyConfig(DomainApp):
    default = True  # DomainApp itself is not an app: this class is
    name = "coopmatrix.vocabulary"
    label = "vocabulary"
    verbose_name = "Vocabularies"
